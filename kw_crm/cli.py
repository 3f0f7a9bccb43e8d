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


@crm_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tenant", "tenant_name", required=True, help="Name of the tenant to import into.")
@click.option("--batch-size", default=1000, show_default=True, help="Rows per upsert statement.")
@with_appcontext
def import_file(file, tenant_name, batch_size):
    """Import contacts from a CSV FILE into a tenant (one transaction; all or nothing)."""
    import os
    import sys
    import time

    from . import FEATURE, host
    from .errors import CrmError
    from .services import importer
    from .tenancy import tenant_scope

    tenant_id = host.tenant_id_by_name(tenant_name)
    if tenant_id is None:
        raise click.ClickException(f"No tenant called {tenant_name!r}.")
    if not host.feature_enabled(tenant_id, FEATURE):
        raise click.ClickException(f"The CRM is not enabled for tenant {tenant_name!r}.")
    started = time.monotonic()
    state = {"rows": 0}

    def describe(_item):
        elapsed = max(time.monotonic() - started, 1e-6)
        return f"{state['rows']:,} rows, {state['rows'] / elapsed:,.0f} rows/s"

    with open(file, "rb") as handle, tenant_scope(tenant_id), click.progressbar(
            length=os.path.getsize(file), label="Importing", item_show_func=describe,
            file=sys.stderr) as bar:
        def progress(rows_read):
            state["rows"] = rows_read - 1  # spreadsheet row number -> data rows
            bar.update(max(handle.tell() - bar.pos, 0), current_item=rows_read)

        try:
            result = importer.import_contacts(handle, batch_size=batch_size, progress=progress)
        except CrmError as error:
            raise click.ClickException(error.message) from None
    elapsed = time.monotonic() - started
    repeated = (f" (of which {result.duplicates} repeated an earlier email in the file; the last row won)"
                if result.duplicates else "")
    click.echo(f"created {result.created}, updated {result.updated}{repeated}, "
               f"skipped {result.skipped} in {elapsed:.1f}s ({result.rows / max(elapsed, 1e-6):,.0f} rows/s)")
    for error in result.errors[:20]:
        click.echo(f"  row {error['row']}: {error['message']}")
    if result.skipped > 20:
        click.echo(f"  ... and {result.skipped - 20} more skipped rows")


@crm_cli.command("digest")
@click.option("--date", "day", default=None, help="The day to send for (YYYY-MM-DD, default: today, UTC).")
@with_appcontext
def digest(day):
    """Queue and send today's activity digest: one mail per owner with overdue or due-today
    activities. Safe to run again the same day: each owner gets one digest per day."""
    from datetime import date

    from .services import digest as service
    from .services import outbox

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    counts = service.queue_digests(when)
    sent = outbox.deliver_pending(max(counts["queued"], 1) * 2, all_tenants=True, force=True)
    click.echo(f"queued {counts['queued']} digest(s), skipped {counts['skipped']}; sent {sent['sent']}, "
               f"retrying {sent['retrying']}, failed {sent['failed']}")
