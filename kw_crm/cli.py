"""``flask crm …``: the CRM's command line."""
import click
from flask.cli import with_appcontext

crm_cli = click.Group("crm", help="kw_crm: the job worker, imports and maintenance.")


def _echo_counts(counts: dict) -> None:
    click.echo(f"done {counts['done']}, retrying {counts['retrying']}, failed {counts['failed']}")


@crm_cli.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to sleep when nothing is due.")
@click.option("--limit", default=100, show_default=True, help="Most jobs per round.")
@with_appcontext
def worker(once, interval, limit):
    """Run due jobs of every tenant (mail, automation runs, webhook deliveries, imports). Any
    number of workers may run at once, on any machine: each job is claimed by one."""
    import time

    from . import jobs
    from .db import session

    while True:
        counts = jobs.run_due(limit)
        session.remove()
        if once:
            _echo_counts(counts)
            return
        if sum(counts.values()):
            _echo_counts(counts)
        else:
            time.sleep(interval)


@crm_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Most jobs to run.")
@with_appcontext
def deliver(limit):
    """Run due jobs once (kept for scripts written before ``flask crm worker --once``)."""
    from . import jobs

    _echo_counts(jobs.run_due(limit))


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
        def progress(rows_read, _result=None):
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

    from . import jobs
    from .services import digest as service

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--date") from None
    counts = service.queue_digests(when)
    click.echo(f"queued {counts['queued']} digest(s), skipped {counts['skipped']}")
    _echo_counts(jobs.run_due(max(counts["queued"], 1) * 2))
