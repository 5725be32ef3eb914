"""DB-migration function of the metadata-service Terraform module.

Asks the migration API (MD_LB_ADDRESS, the internal NLB's 8082 listener) for the schema status,
applies the pending migrations with PATCH /upgrade and reads the status again. Any answer that
is not 2xx, or a connection failure, fails the invocation. The standard library only: the
function ships as this one file.
"""

import json
import os
import urllib.error
import urllib.request

TIMEOUT_SECONDS = float(os.environ.get("MD_TIMEOUT_SECONDS", "600"))


class MigrationError(Exception):
    pass


def call(method, path):
    url = os.environ["MD_LB_ADDRESS"].rstrip("/") + path
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read().decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")
        raise MigrationError(f"{method} {path}: HTTP {error.code}: {body}") from error
    except (urllib.error.URLError, OSError) as error:
        raise MigrationError(f"{method} {path}: {error}") from error
    if not 200 <= status < 300:
        raise MigrationError(f"{method} {path}: HTTP {status}: {body}")
    print(f"{method} {path}: HTTP {status}: {body}")
    return body


def status():
    return json.loads(call("GET", "/db_schema_status"))


def handler(event, context):
    before = status()
    upgrade = call("PATCH", "/upgrade")
    after = status()
    return {"before": before, "upgrade": upgrade, "after": after}
