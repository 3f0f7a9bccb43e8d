"""Property-based fuzzing of the whole JSON API against its own OpenAPI document (schemathesis),
authenticated with a real API token, on whichever database the suite runs on.

Every operation gets ``FUZZ_EXAMPLES`` generated requests (valid and invalid ones); every
answer must be no 5xx, a documented status, the documented content type and headers, and a body
that matches the documented schema. Half of the generated ids are swapped for ids of real
records of the fuzzing tenant, so operations on existing records are reached too. The bound keeps
the run at about two minutes per database on the 2-core CI machine; raise ``KW_FUZZ_EXAMPLES``
locally for a deeper run."""
import os
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = int(os.environ.get("KW_FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_tenant(app, make_tenant_module):
    """A tenant of its own with an admin holding crm.delete, an API token and one record of each
    kind (their ids replace generated ones half of the time)."""
    tenant, admin = make_tenant_module()
    client = app.test_client().login(admin)
    token = client.post("/api/crm/tokens", json={"name": "fuzz"}).get_json()["token"]
    contact = client.post("/api/crm/contacts", json={"first_name": "Fuzz", "last_name": "Target",
                                                     "company": "Fuzz Co"}).get_json()
    deal = client.post("/api/crm/deals", json={"title": "Fuzz deal", "value_cents": 100,
                                               "contact_id": contact["id"]}).get_json()
    activity = client.post(f"/api/crm/contacts/{contact['id']}/activities",
                           json={"type": "call", "subject": "Call"}).get_json()
    webhook = client.post("/api/crm/webhooks", json={"url": "http://127.0.0.1:9/fuzz", "events": ["*"]}).get_json()
    real = {"contact_id": contact["id"], "deal_id": deal["id"], "customer_id": contact["customer_id"],
            "activity_id": activity["id"], "webhook_id": webhook["id"], "token_id": 1}
    return {"token": token, "real": real}


@pytest.fixture(scope="module")
def make_tenant_module(app):
    from host_stub.features import set_feature
    from host_stub.models import Tenant, User, db
    from tests.conftest import PASSWORD, unique

    def make():
        with app.app_context():
            tenant = Tenant(name=unique("fuzz"))
            db.session.add(tenant)
            db.session.flush()
            set_feature(tenant, "crm", True)
            admin = User(tenant_id=tenant.id, email=f"{unique('fuzz')}@example.test", name="Fuzz Admin",
                         role="ADMIN", permissions=["crm.delete"], active=True)
            admin.set_password(PASSWORD)
            db.session.add(admin)
            db.session.commit()
            db.session.refresh(admin)
            db.session.expunge(admin)
            db.session.expunge(tenant)
            return tenant, admin
    return make


@pytest.fixture(scope="module")
def api_schema(app, fuzz_tenant):
    app.config["CRM_WEBHOOK_TIMEOUT"] = 1  # fuzzed webhook URLs point at closed 127.0.0.1 ports
    yield schemathesis.openapi.from_wsgi("/api/crm/openapi.json", app,
                                         headers={"Authorization": f"Bearer {fuzz_tenant['token']}"})
    app.config["CRM_WEBHOOK_TIMEOUT"] = 10


def fuzz_operation(operation, mode: GenerationMode, fuzz_tenant) -> None:
    real, auth = fuzz_tenant["real"], {"Authorization": f"Bearer {fuzz_tenant['token']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        for name, value in list((case.path_parameters or {}).items()):
            if name in real and zlib.crc32(repr(value).encode()) % 2:
                case.path_parameters[name] = real[name]
        case.call_and_validate(headers=auth, checks=CHECKS)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_answers_as_documented(api_schema, fuzz_tenant, mode):
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            fuzz_operation(operation, mode, fuzz_tenant)
        except Exception as error:  # noqa: BLE001 - collect every operation's failure, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:1500]}")
    assert operations > 40
    assert not failures, "\n\n".join(failures)
