"""Unknown fields in a JSON body are a 422 on every CRM endpoint: a property of the shared input
base (``StrictSchema``), checked here for every input schema and on the endpoints that used to
drop them."""
import importlib
import inspect
import pkgutil

from marshmallow import RAISE, Schema

import kw_crm.schemas
from kw_crm.schemas.base import StrictSchema
from tests.support.comms import customer


def input_schemas():
    for info in pkgutil.iter_modules(kw_crm.schemas.__path__):
        module = importlib.import_module(f"kw_crm.schemas.{info.name}")
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Schema) and obj.__module__ == module.__name__ \
                    and not name.endswith(("Out", "Output", "Entry")) and not name.startswith("_"):
                yield obj


def test_every_input_schema_is_strict():
    schemas = list(input_schemas())
    assert len(schemas) > 10
    for schema in schemas:
        assert issubclass(schema, StrictSchema) and schema().unknown == RAISE, schema.__name__


def test_endpoints_that_dropped_unknown_fields_now_refuse_them(admin_client):
    cid = customer(admin_client)
    for url, body in (("/api/crm/customers", {"name": "Unknown Field Co", "colour": "red"}),
                      (f"/api/crm/customers/{cid}", {"lead_source": "web", "colour": "red"}),
                      (f"/api/crm/customers/{cid}/communications", {"subject": "s", "colour": "red"}),
                      (f"/api/crm/customers/{cid}/archive", {"reason": "r", "colour": "red"})):
        method = "PATCH" if url.endswith(str(cid)) else "POST"
        response = admin_client.open(url, method=method, json=body)
        assert response.status_code == 422, (url, response.get_json())
        assert response.get_json()["error"]["fields"]["colour"] == ["Unknown field."]
    assert admin_client.get(f"/api/crm/customers/{cid}").get_json()["lead_source"] is None


def test_stage_list_wrapper_refuses_unknown_fields(admin_client):
    stages = admin_client.get("/api/crm/stages").get_json()
    response = admin_client.put("/api/crm/stages", json={"stages": stages, "colour": "red"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["colour"] == ["Unknown field."]
    assert admin_client.put("/api/crm/stages", json={"stages": stages}).status_code == 200
