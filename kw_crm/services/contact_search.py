"""Contact search: a case-insensitive substring of "first last", email or company, answered
from an index on both databases.

The judge of a match is one LIKE on the normalized search text
(:func:`kw_crm.models.contact.search_text`), the same on both databases. What finds the
candidates differs: PostgreSQL's GIN index ``(tenant_id, search text gin_trgm_ops)`` answers the
LIKE itself (revision c0017); on SQLite a search of three or more characters first reads the
contact ids whose text contains the search's trigrams as a phrase from the FTS5 trigram table
``crm_contacts_fts`` (a superset of the LIKE's matches: the tokenizer folds case at least as
widely as SQLite's LIKE), and the LIKE then keeps exactly the matches. Shorter searches scan
(below a trigram no index helps). See :func:`unindexed` for the order of a search's page."""
from sqlalchemy import String, and_, column, func, literal_column, or_, select, table

from ..db import contains_pattern, session
from ..models import Contact
from ..models.contact import SEARCH_FTS_TABLE, SEARCH_SEPARATOR, search_text

CONTACT_SEARCH_TEXT = search_text(Contact.first_name, Contact.last_name, Contact.email, Contact.company)
FTS = table(SEARCH_FTS_TABLE, column("rowid"), column(SEARCH_FTS_TABLE))
TRIGRAM = 3  # FTS5's trigram tokenizer finds nothing for shorter phrases


def search_condition(q: str):
    """The WHERE clause of a search for ``q`` (``%``, ``_`` and ``\\`` taken literally). The
    fields are joined by a separator search input cannot contain, so no match spans two fields;
    input that does contain it gets the per-field form."""
    text = q.strip()
    pattern = contains_pattern(q)
    if SEARCH_SEPARATOR in text:
        return or_(
            func.lower(Contact.first_name + " " + Contact.last_name).like(pattern, escape="\\"),
            func.lower(Contact.email).like(pattern, escape="\\"),
            func.lower(Contact.company).like(pattern, escape="\\"),
        )
    like = CONTACT_SEARCH_TEXT.like(pattern, escape="\\")
    if not (trigram_search(q) and session.get_bind().dialect.name == "sqlite"):
        return like
    return and_(Contact.id.in_(select(FTS.c.rowid).where(FTS.c[SEARCH_FTS_TABLE].match(fts_phrase(text)))), like)


def trigram_search(q: str | None) -> bool:
    """Can an index answer a search for ``q`` (3+ characters, one line)?"""
    text = (q or "").strip()
    return len(text) >= TRIGRAM and SEARCH_SEPARATOR not in text


def unindexed(q: str | None, key):
    """``key`` as the list orders or groups by it in a search for ``q``. For a search an index
    answers it is written ``key || ''`` (same values, same order), which no index provides, so
    the database reads the search's hits from the trigram index (PostgreSQL) or FTS table
    (SQLite) and sorts or groups them: work in proportion to the hits, which the total counts
    anyway. Given the bare column the planner may instead walk the tenant's name or type index
    in order and test every entry: cheap for a common search, a walk of the whole tenant for a
    rare one whose hits it overestimated (SQLite, without statistics, always does it)."""
    if not trigram_search(q):
        return key
    return key.op("||", return_type=String)(literal_column("''", String))


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase (quotes doubled): its trigrams, consecutive."""
    return '"' + text.lower().replace('"', '""') + '"'
