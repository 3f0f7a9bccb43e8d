"""issue 12: the host's product catalogue (products, plans, trial plans, prices per currency),
catalogue links on subscriptions, payments and billing events

Revision ID: h0003
Revises: h0002

The catalogue is platform data shared by every tenant, so this revision also fills it: two
products with a trial plan and billed plans priced in USD and EUR."""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "h0003"
down_revision: str | Sequence[str] | None = "h0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# product key, name, [(plan key, name, interval, trial days or 0, {currency: cents})]
CATALOGUE = [
    ("meridian", "Meridian", [
        ("trial", "Meridian Trial", "month", 14, {"USD": 0, "EUR": 0}),
        ("starter", "Meridian Starter", "month", 0, {"USD": 49_00, "EUR": 45_00}),
        ("pro", "Meridian Pro", "month", 0, {"USD": 149_00, "EUR": 139_00}),
        ("enterprise", "Meridian Enterprise", "year", 0, {"USD": 4_900_00, "EUR": 4_500_00}),
    ]),
    ("rmm", "RMM", [
        ("trial", "RMM Trial", "month", 30, {"USD": 0, "EUR": 0}),
        ("team", "RMM Team", "month", 0, {"USD": 120_00, "EUR": 110_00}),
        ("scale", "RMM Scale", "year", 0, {"USD": 2_400_00, "EUR": 2_200_00}),
    ]),
]


def upgrade() -> None:
    products = op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("key", name=op.f("uq_products_key")),
    )
    plans = op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("trial", sa.Boolean(), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_plans_product_id_products"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("product_id", "key", name=op.f("uq_plans_product_id")),
    )
    op.create_index(op.f("ix_plans_product_id"), "plans", ["product_id"])
    prices = op.create_table(
        "plan_prices",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_plan_prices_plan_id_plans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "currency", name=op.f("pk_plan_prices")),
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("interval", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("trial_ends_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key(op.f("fk_subscriptions_product_id_products"), "products", ["product_id"], ["id"])
        batch.create_foreign_key(op.f("fk_subscriptions_plan_id_plans"), "plans", ["plan_id"], ["id"])
        batch.create_index(op.f("ix_subscriptions_product_id"), ["product_id"])
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_payments_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["customer_id"], ["portal_customers.id"],
                                name=op.f("fk_payments_customer_id_portal_customers")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_tenant_customer_received", "payments", ["tenant_id", "customer_id", "received_at"])
    op.create_table(
        "billing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_billing_events_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["customer_id"], ["portal_customers.id"],
                                name=op.f("fk_billing_events_customer_id_portal_customers")),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_billing_events_subscription_id_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )
    op.create_index("ix_billing_events_tenant_customer_at", "billing_events",
                    ["tenant_id", "customer_id", "occurred_at"])
    _fill_catalogue(products, plans, prices)


def _fill_catalogue(products, plans, prices) -> None:
    bind = op.get_bind()
    for product_position, (product_key, product_name, product_plans) in enumerate(CATALOGUE):
        bind.execute(products.insert().values(key=product_key, name=product_name, position=product_position))
        product_id = bind.scalar(sa.select(products.c.id).where(products.c.key == product_key))
        for plan_position, (plan_key, plan_name, interval, trial_days, by_currency) in enumerate(product_plans):
            bind.execute(plans.insert().values(
                product_id=product_id, key=plan_key, name=plan_name, interval=interval, trial=trial_days > 0,
                trial_days=trial_days, position=plan_position))
            plan_id = bind.scalar(sa.select(plans.c.id).where(plans.c.product_id == product_id,
                                                              plans.c.key == plan_key))
            for currency, cents in by_currency.items():
                bind.execute(prices.insert().values(plan_id=plan_id, currency=currency, price_cents=cents))


def downgrade() -> None:
    op.drop_index("ix_billing_events_tenant_customer_at", table_name="billing_events")
    op.drop_table("billing_events")
    op.drop_index("ix_payments_tenant_customer_received", table_name="payments")
    op.drop_table("payments")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_index(op.f("ix_subscriptions_product_id"))
        batch.drop_constraint(op.f("fk_subscriptions_plan_id_plans"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_subscriptions_product_id_products"), type_="foreignkey")
        batch.drop_column("trial_ends_at")
        batch.drop_column("interval")
        batch.drop_column("plan_id")
        batch.drop_column("product_id")
    op.drop_table("plan_prices")
    op.drop_index(op.f("ix_plans_product_id"), table_name="plans")
    op.drop_table("plans")
    op.drop_table("products")
