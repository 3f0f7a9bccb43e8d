"""Contact pages: the CRM landing list, forms, detail."""
from . import render, web_bp


@web_bp.route("/")
def contacts():
    return render("contacts/list.html", contacts=[])
