import pytest
from sqlalchemy import select
from services.activities import jobs as J
from services.activities.models import Activity
from tests.integration.test_activities_pg import *  # noqa

def naive(db, now, batch):
    with db.uow() as uow:
        rows = list(uow.session.scalars(select(Activity).where(Activity.remind_at <= now, Activity.reminder_sent_at.is_(None)).limit(batch)))
        import time; time.sleep(0.05)
        for a in rows:
            a_id = a.id
            uow.session.execute(J.update(Activity.__table__).where(Activity.__table__.c.id == a_id).values(reminder_sent_at=now))
            uow.publish(J.REMINDER if hasattr(J,'REMINDER') else "activities.activity.reminder_due", a.id, J.reminder_data(a))
        uow.commit()
        return len(rows)

@pytest.fixture(autouse=True)
def _naive(monkeypatch):
    monkeypatch.setattr(J, "_publish_batch", naive)
