"""kw_crm: contacts, companies, deals, activities and dashboards for the KW portal, as a
pluggy plugin. The host finds it through the ``kw_platform`` entry point ``crm``."""

FEATURE = "crm"
DELETE_PERMISSION = "crm.delete"
