"""The relational schema, as SQLAlchemy Core tables.

The schema in a database is made only by the Alembic migrations in ``migrations/``; this module
is what the code reads and writes, and a test fails when the two drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

from learnprog.storage.sql.types import Document, Json, Key, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)


def _org_fk() -> sa.Column[str]:
    return sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), nullable=False)


organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email_domains", Json(), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("brand_color", sa.String(7)),
    sa.Column("banner_url", sa.String(2000)),
    sa.Column("logo_url", sa.String(2000)),
    sa.Column("default_invitation_message", sa.Text()),
    sa.Column("report_program_ids", Json(), nullable=False),
    sa.Column("report_weekdays", Json(), nullable=False),
    sa.Column("restrict_invitations_to_domains", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # Organization.name_key: NULL unless the organization holds its name alone (revision 0015)
    sa.Column("name_key", Key()),
    sa.Index(None, "name_key", unique=True),  # NULLs never collide
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

programs = sa.Table(
    "programs",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("slug", Key(80), nullable=False, unique=True),
    sa.Column("tagline", sa.String(200)),
    sa.Column("banner_url", sa.String(2000)),
    sa.Column("course_enrollment_limit", sa.Integer()),
    sa.Column("invitation_message", sa.Text()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("removed_at", UtcDateTime()),
    sa.Index(None, "organization_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("quantity", sa.Integer()),
    sa.Column("used", sa.Integer(), nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Column("ends_at", UtcDateTime(), nullable=False),
    sa.CheckConstraint(
        "quantity IS NULL OR (used >= 0 AND used <= quantity)", name="used_within_quantity"
    ),
    sa.Index(None, "organization_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

learners = sa.Table(
    "learners",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("email_key", Key(320), nullable=False),
    sa.Column("external_id", Key(255)),
    sa.Column("manager_name", sa.String(200)),
    sa.Column("manager_email", sa.String(200)),
    sa.Column("job_title", sa.String(200)),
    sa.Column("job_type", sa.String(200)),
    sa.Column("business_unit", sa.String(200)),
    sa.Column("business_unit_2", sa.String(200)),
    sa.Column("location_city", sa.String(200)),
    sa.Column("location_country", sa.String(200)),
    sa.Column("location_region", sa.String(200)),
    sa.Column("attributes", Json(), nullable=False),
    sa.Column("identity_verified", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # revision 0005: case-folded "name\nemail" for the members list search
    sa.Column("search_key", Key(600), nullable=False, server_default=""),
    sa.UniqueConstraint("organization_id", "email_key"),
    sa.Index(None, "organization_id", "external_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), nullable=False),
    sa.Column("contract_id", Key(), sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("invited_at", UtcDateTime(), nullable=False),
    sa.Column("joined_at", UtcDateTime()),
    sa.Column("removed_at", UtcDateTime()),
    sa.Column("invitation_sent_at", UtcDateTime()),  # revision 0004
    sa.Column("invitation_source", sa.String(100)),  # revision 0004
    sa.UniqueConstraint("program_id", "learner_id"),
    sa.Index(None, "learner_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

admins = sa.Table(
    "admins",
    metadata,
    sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("scope", Key(), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id")),
    sa.Column("granted_at", UtcDateTime(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    # seq keeps the order entries were written in, even within one microsecond
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", Key(), nullable=False, unique=True),
    _org_fk(),
    sa.Column("program_id", Key()),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(50), nullable=False),
    sa.Column("object_id", Key(255), nullable=False),
    sa.Column("changes", Json(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index(None, "organization_id", "at"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("message_id", Key(255), nullable=False, unique=True),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("to_name", sa.String(200)),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("text_body", sa.Text(), nullable=False),
    sa.Column("html_body", sa.Text()),
    sa.Column("sender_name", sa.String(200)),
    sa.Column("sender_address", sa.String(320), nullable=False),
    sa.Column("reply_to", sa.String(320)),
    sa.Column("template", sa.String(64)),
    sa.Column("learner_id", Key()),
    sa.Column("headers", Json(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime()),
    sa.Column("last_error", sa.Text()),
    sa.Column("claim_id", Key()),  # revision 0003
    sa.Column("membership_id", Key()),  # revision 0012: the membership an invitation is for
    sa.Index(None, "status", "next_attempt_at"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0002: the catalog ---------------------------------------------------------------

courses = sa.Table(
    "courses",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("course_id", Key(), nullable=False),
    sa.Column("slug", Key(80), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("partner", sa.String(200)),
    sa.Column("class_start", UtcDateTime()),
    sa.Column("class_end", UtcDateTime()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("organization_id", "course_id"),
    sa.UniqueConstraint("organization_id", "slug"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

course_items = sa.Table(
    "course_items",
    metadata,
    sa.Column(
        "course_id", Key(), sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("id", Key(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("lesson", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

assessments = sa.Table(
    "assessments",
    metadata,
    sa.Column(
        "course_id", Key(), sa.ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("id", Key(), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("graded", sa.Boolean(), nullable=False),
    sa.Column("required", sa.Boolean(), nullable=False),
    sa.Column("weight", sa.Double(), nullable=False),
    sa.Column("due_at", UtcDateTime()),
    sa.Column("pass_mark", sa.Double(), nullable=False),
    sa.Column("options", sa.Integer()),
    sa.Column("skill_ids", Json(), nullable=False),
    sa.Column("item_id", Key()),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

specializations = sa.Table(
    "specializations",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("slug", Key(80), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("partner", sa.String(200)),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("organization_id", "slug"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

specialization_courses = sa.Table(
    "specialization_courses",
    metadata,
    sa.Column(
        "specialization_id",
        Key(),
        sa.ForeignKey("specializations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id"), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

skills = sa.Table(
    "skills",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("domain", Key(200), nullable=False),
    sa.Column("name", Key(200), nullable=False),
    sa.Column("definition", sa.Text()),
    sa.Column("example_subskills", Json(), nullable=False),
    sa.UniqueConstraint("organization_id", "domain", "name"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0003: mail delivery records and email preferences --------------------------------

mail_deliveries = sa.Table(
    "mail_deliveries",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", Key(), nullable=False, unique=True),
    sa.Column("outbox_id", Key(), sa.ForeignKey("outbox.id"), nullable=False),
    _org_fk(),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("category", sa.String(16), nullable=False),
    sa.Column("template", sa.String(64)),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text()),
    sa.Index(None, "outbox_id"),
    sa.Index(None, "organization_id", "at"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

email_opt_outs = sa.Table(
    "email_opt_outs",
    metadata,
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("category", Key(16), primary_key=True),
    _org_fk(),
    sa.Column("at", UtcDateTime(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0005: enrollments, learning activity, derived progress, feedback ----------------

enrollments = sa.Table(
    "enrollments",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("target_id", Key(), nullable=False),
    sa.Column("contract_id", Key(), sa.ForeignKey("contracts.id"), nullable=False),
    sa.Column("enrolled_at", UtcDateTime(), nullable=False),
    sa.Column("source_collection_id", Key()),
    sa.Column("unenrolled_at", UtcDateTime()),
    # target_id while current, NULL once ended: the unique key allows one current enrollment
    # per learner and target (NULLs never collide in a unique key on any supported database)
    sa.Column("current_target_id", Key()),
    sa.UniqueConstraint("learner_id", "current_target_id"),
    sa.Index(None, "program_id", "learner_id"),
    sa.Index(None, "learner_id", "target_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

learning_events = sa.Table(
    "learning_events",
    metadata,
    sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("id", Key(), primary_key=True),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), nullable=False),
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("item_id", Key(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index(None, "learner_id", "course_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

assessment_attempts = sa.Table(
    "assessment_attempts",
    metadata,
    sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("id", Key(), primary_key=True),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), nullable=False),
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("assessment_id", Key(), nullable=False),
    sa.Column("grade", sa.Double(), nullable=False),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("banked", sa.Boolean(), nullable=False),
    sa.Index(None, "learner_id", "course_id"),
    sa.Index(None, "course_id", "assessment_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

enrollment_progress = sa.Table(
    "enrollment_progress",
    metadata,
    sa.Column(
        "enrollment_id",
        Key(),
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("items_completed", sa.Integer(), nullable=False),
    sa.Column("items_total", sa.Integer(), nullable=False),
    sa.Column("progress", sa.Double(), nullable=False),
    sa.Column("lessons_taken", sa.Integer(), nullable=False),
    sa.Column("learning_seconds", sa.Double(), nullable=False),
    sa.Column("last_activity_at", UtcDateTime()),
    sa.Column("completed_at", UtcDateTime()),
    sa.Column("grade", sa.Double()),
    sa.Column("failing", sa.Boolean(), nullable=False),
    sa.Column("open_due_at", UtcDateTime()),
    sa.Column("attempts", sa.Integer(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), nullable=False),
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id"), nullable=False),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("rating", sa.Integer(), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("recommend", sa.Integer()),
    sa.Column("comment", sa.Text()),
    sa.UniqueConstraint("learner_id", "course_id", "program_id"),
    sa.Index(None, "program_id"),
    sa.Index(None, "course_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0006: the curriculum (collections of courses and specializations) ---------------

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text()),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Index(None, "program_id", "position"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# One row per entry; exactly one of course_id and specialization_id is set (so both are real
# foreign keys), and each course or specialization is at most once per collection.
collection_entries = sa.Table(
    "collection_entries",
    metadata,
    sa.Column(
        "collection_id",
        Key(),
        sa.ForeignKey("collections.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id")),
    sa.Column("specialization_id", Key(), sa.ForeignKey("specializations.id")),
    sa.CheckConstraint(
        "(kind = 'course' AND course_id IS NOT NULL AND specialization_id IS NULL) OR "
        "(kind = 'specialization' AND specialization_id IS NOT NULL AND course_id IS NULL)",
        name="one_target",
    ),
    sa.UniqueConstraint("collection_id", "course_id"),
    sa.UniqueConstraint("collection_id", "specialization_id"),
    sa.Index(None, "course_id"),
    sa.Index(None, "specialization_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0007: messages sent to learners, and their recipients ---------------------------

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("idempotency_key", Key(), nullable=False),
    sa.Column("audience", sa.String(32), nullable=False),
    sa.Column("filters", Json(), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("cta_label", sa.String(80)),
    sa.Column("cta_url", sa.String(2000)),
    sa.Column("sender_name", sa.String(200), nullable=False),
    sa.Column("reply_to", sa.String(320)),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=False),
    sa.Column("recipients", sa.Integer(), nullable=False),
    sa.Column("opted_out", sa.Integer(), nullable=False),
    sa.Column("removed", sa.Integer(), nullable=False),
    sa.Column("program_ids", Json(), nullable=False),
    sa.UniqueConstraint("organization_id", "idempotency_key"),
    sa.Index(None, "organization_id", "sent_at"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

message_recipients = sa.Table(
    "message_recipients",
    metadata,
    sa.Column(
        "message_id", Key(), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("program_id", Key(), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("outbox_id", Key(), sa.ForeignKey("outbox.id")),
    sa.Column("skipped", sa.String(16)),  # revision 0014: why a learner was not sent it
    sa.Index(None, "program_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0008: per-day learning buckets of course enrollments (the summary's 28 days) ----

enrollment_days = sa.Table(
    "enrollment_days",
    metadata,
    sa.Column(
        "enrollment_id",
        Key(),
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("learning_seconds", sa.Double(), nullable=False),
    sa.Column("lessons_taken", sa.Integer(), nullable=False),
    sa.Index(None, "day"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0010: scheduled report emails sent, one per organization, admin and local day ----

scheduled_reports = sa.Table(
    "scheduled_reports",
    metadata,
    sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("local_day", sa.Date(), primary_key=True),
    sa.Column("sent_at", UtcDateTime(), nullable=False),
    sa.Column("program_ids", Json(), nullable=False),
    sa.Column("outbox_id", Key()),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0009: skill ratings, assessment difficulties, the scoring mark ------------------

skill_ratings = sa.Table(
    "skill_ratings",
    metadata,
    sa.Column("learner_id", Key(), sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("skill_id", Key(), sa.ForeignKey("skills.id"), primary_key=True),
    _org_fk(),
    sa.Column("theta", sa.Double(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("intermediate_at", UtcDateTime()),
    sa.Column("advanced_at", UtcDateTime()),
    sa.Index(None, "organization_id", "skill_id"),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

item_difficulties = sa.Table(
    "item_difficulties",
    metadata,
    sa.Column("course_id", Key(), sa.ForeignKey("courses.id"), primary_key=True),
    sa.Column("assessment_id", Key(), primary_key=True),
    _org_fk(),
    sa.Column("difficulty", sa.Double(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

skill_scoring = sa.Table(
    "skill_scoring",
    metadata,
    sa.Column("organization_id", Key(), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("scored", sa.Integer(), nullable=False),
    sa.Column("last_at", UtcDateTime()),
    sa.Column("last_id", Key()),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0011: the figures an admin export gave an imported enrollment ---------------------

imported_figures = sa.Table(
    "imported_figures",
    metadata,
    sa.Column(
        "enrollment_id",
        Key(),
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("progress", sa.Double(), nullable=False),
    sa.Column("learning_seconds", sa.Double(), nullable=False),
    sa.Column("last_activity_at", UtcDateTime()),
    sa.Column("completed_at", UtcDateTime()),
    sa.Column("grade", sa.Double()),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)

# --- revision 0016: each course enrollment's running figures (ingest adds new records to them) --

activity_tallies = sa.Table(
    "activity_tallies",
    metadata,
    sa.Column(
        "enrollment_id",
        Key(),
        sa.ForeignKey("enrollments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # learnprog.model.tally.ActivityTally.to_document: JSON text, a few hundred bytes a course
    sa.Column("tally", Document(), nullable=False),
    mysql_charset="utf8mb4",
    mysql_engine="InnoDB",
)
