"""``flask crm …``: the CRM's command line."""
import click
from flask.cli import with_appcontext

crm_cli = click.Group("crm", help="kw_crm: outbox delivery, imports and maintenance.")


@crm_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Most messages to deliver in this run.")
@with_appcontext
def deliver(limit):
    """Deliver queued outbox messages (mail) of every tenant; failed ones are retried later."""
    from .services import outbox

    counts = outbox.deliver_pending(limit, all_tenants=True, force=True)
    click.echo(f"sent {counts['sent']}, retrying {counts['retrying']}, failed {counts['failed']}")
