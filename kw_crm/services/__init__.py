"""The CRM's rules, one module per aggregate. Services are the only code that writes; they
take plain values (never ``request``) and end with ``kw_crm.db.commit()``."""
