"""Query expressions that the ORM does not spell the same way on every database the portal runs on."""

from django.db.models import DurationField, Func


class MinutesAsDuration(Func):
    """An integer expression of minutes as a duration, to add to a datetime column in SQL
    (`F("deadline") + MinutesAsDuration(F("timeout_minutes"))`). `F(...) * timedelta(minutes=1)` reads
    the same and works on PostgreSQL, but SQLite (the embedded default) refuses to multiply a duration
    ("Invalid arguments for operator *"): there a duration is an integer of microseconds."""

    arity = 1
    output_field = DurationField()

    def as_sql(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s * INTERVAL '1 minute')",
                              **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="(%(expressions)s * 60000000)", **extra_context)
