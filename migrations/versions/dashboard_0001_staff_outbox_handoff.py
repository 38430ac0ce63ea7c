"""Dashboard tables: staff accounts, sessions, login throttling, OPD settings, audit log,
notification outbox, conversation log, human handoff, complaint feedback, daily digests.

Revision ID: dashboard_0001
Revises: 0002_encrypt_identifiers
Create Date: 2026-11-23 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "dashboard_0001"
down_revision = "0002_encrypt_identifiers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency_settings',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('digest_recipients', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agency_settings'))
    )
    op.create_table('digest_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('delivered_to', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs')),
    sa.UniqueConstraint('day', 'agency_code', name='uq_digest_runs_day_agency')
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_ip_created', ['ip', 'created_at'], unique=False)
        batch_op.create_index('ix_login_attempts_username_created', ['username', 'created_at'], unique=False)

    op.create_table('staff_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit'))
    )
    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_audit_created_at'), ['created_at'], unique=False)

    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=True),
    sa.Column('can_chat', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("role <> 'opd' OR agency_code IS NOT NULL", name=op.f('ck_staff_users_opd_has_agency')),
    sa.CheckConstraint("role IN ('admin', 'opd', 'surat')", name=op.f('ck_staff_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_users_username'))
    )
    op.create_table('handoffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('sender', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_outside_hours', sa.Boolean(), nullable=False),
    sa.Column('assigned_to', sa.Integer(), nullable=True),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(), nullable=True),
    sa.Column('last_read_message_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to'], ['staff_users.id'], name=op.f('fk_handoffs_assigned_to_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_handoffs_citizen_id_citizens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_state_opened', ['state', 'opened_at'], unique=False)
        batch_op.create_index('uq_handoffs_open_sender', ['sender'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    op.create_table('staff_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_staff_sessions_user_id_staff_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('interactive', sa.JSON(), nullable=True),
    sa.Column('template_name', sa.String(length=120), nullable=True),
    sa.Column('template_language', sa.String(length=20), nullable=True),
    sa.Column('template_params', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('graph_message_id', sa.String(length=255), nullable=True),
    sa.Column('sent_via', sa.String(length=12), nullable=True),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_notifications_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_notifications_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_citizen_id', ['citizen_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_graph_message_id'), ['graph_message_id'], unique=False)
        batch_op.create_index('ix_notifications_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notifications_ticket_id', ['ticket_id'], unique=False)

    op.create_table('ticket_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('confirmation', sa.String(length=10), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rated_at', sa.DateTime(), nullable=True),
    sa.Column('citizen_note', sa.Text(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_feedback_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_feedback')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_ticket_feedback_ticket_id'))
    )
    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('sender', sa.String(length=128), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('wamid', sa.String(length=255), nullable=True),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_conversation_messages_citizen_id_citizens')),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_conversation_messages_media_id_media'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_messages'))
    )
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_messages_citizen_id', ['citizen_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_messages_notification_id'), ['notification_id'], unique=False)
        batch_op.create_index('ix_conversation_messages_sender_id', ['sender', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_messages_wamid'), ['wamid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_messages_wamid'))
        batch_op.drop_index('ix_conversation_messages_sender_id')
        batch_op.drop_index(batch_op.f('ix_conversation_messages_notification_id'))
        batch_op.drop_index('ix_conversation_messages_citizen_id')

    op.drop_table('conversation_messages')
    op.drop_table('ticket_feedback')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_ticket_id')
        batch_op.drop_index('ix_notifications_status_next')
        batch_op.drop_index(batch_op.f('ix_notifications_graph_message_id'))
        batch_op.drop_index('ix_notifications_citizen_id')

    op.drop_table('notifications')
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_user_id'))

    op.drop_table('staff_sessions')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('uq_handoffs_open_sender', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_index('ix_handoffs_state_opened')

    op.drop_table('handoffs')
    op.drop_table('staff_users')
    with op.batch_alter_table('staff_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_audit_created_at'))

    op.drop_table('staff_audit')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_username_created')
        batch_op.drop_index('ix_login_attempts_ip_created')

    op.drop_table('login_attempts')
    op.drop_table('digest_runs')
    op.drop_table('agency_settings')
