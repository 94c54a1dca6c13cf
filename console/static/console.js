// The console's only script besides htmx: drag-and-drop and keys on the
// pipeline board. Everything here also works without it (each card has its
// own buttons, which are plain form submits).
(function () {
  "use strict";

  function moveForm(card) {
    return card.querySelector("form.move");
  }

  function submitMove(card, stage) {
    var form = moveForm(card);
    var hidden = form && form.querySelector(".drop-stage");
    if (!hidden) return;
    hidden.disabled = false;
    hidden.value = stage;
    remember(card);
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  // After the board is swapped, focus goes back to the card that moved.
  var lastMoved = null;
  function remember(card) { lastMoved = card.id; }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("li.deal");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.id);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function (event) {
    var card = event.target.closest && event.target.closest("li.deal");
    if (card) card.classList.remove("dragging");
  });

  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-here");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-here");
  });

  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-here");
    var card = document.getElementById(event.dataTransfer.getData("text/plain"));
    if (!card || card.closest(".column") === column) return;
    submitMove(card, column.getAttribute("data-stage"));
  });

  // A step button remembers its card too, so focus comes back after the swap.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("form.move button");
    if (button) remember(button.closest("li.deal"));
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (!lastMoved) return;
    var card = document.getElementById(lastMoved);
    lastMoved = null;
    if (!card) return;
    var target = card.querySelector("form.move button") || card.querySelector("a");
    if (target) target.focus();
  });
})();
