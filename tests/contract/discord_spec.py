"""Validate outgoing Discord bodies against ../shared/specs/discord/openapi.json.

The spec stays where it is (never copied): it is registered whole as one JSON Schema 2020-12
resource so `#/components/schemas/...` references resolve. Everything skips, with a message,
when ../shared is absent. Cross-field rules the spec cannot express are checked in code.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / ".." / "shared" / "specs" / "discord" / "openapi.json"
SPEC_URI = "urn:discord-openapi"
EMBEDS_TOTAL_MAX = 6000


def spec_available() -> bool:
    return SPEC_PATH.is_file()


def require_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Discord OpenAPI spec not found at {SPEC_PATH} (../shared is absent)")
    return _spec()


@functools.cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate_schema(name: str, body: Any) -> None:
    """Validate against `#/components/schemas/<name>`; raises jsonschema.ValidationError."""
    require_spec()
    _validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}).validate(body)


def request_schema(method: str, template: str) -> dict[str, Any] | None:
    """The JSON request-body schema of an operation, or None when it takes no body."""
    op = require_spec()["paths"].get(template, {}).get(method.lower())
    if op is None:
        raise AssertionError(f"{method} {template} is not an operation in the Discord spec")
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def _rebase(node: Any) -> Any:
    """Point a fragment's local `#/...` refs at the registered whole document."""
    if isinstance(node, dict):
        return {
            k: (
                f"{SPEC_URI}{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def validate_request(method: str, template: str, body: Any) -> None:
    """Validate one outgoing body against its operation's request schema, plus message rules."""
    schema = request_schema(method, template)
    if schema is None:
        assert body is None, f"{method} {template} takes no body, got {body!r}"
        return
    _validator(_rebase(schema)).validate(body)
    for message in _messages_in(template, body):
        check_message_rules(message)


def _messages_in(template: str, body: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    if template.endswith("/callback"):
        data = body.get("data")
        return [data] if body.get("type") == 4 and isinstance(data, dict) else []
    if template.endswith(("/messages", "/messages/{message_id}")) or template.startswith(
        "/webhooks/"
    ):
        return [body]
    return []


def embeds_length(embeds: Iterable[dict[str, Any]]) -> int:
    total = 0
    for e in embeds:
        total += len(e.get("title") or "") + len(e.get("description") or "")
        total += len((e.get("footer") or {}).get("text") or "")
        total += len((e.get("author") or {}).get("name") or "")
        for f in e.get("fields") or []:
            total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def check_message_rules(body: dict[str, Any]) -> None:
    """What the spec cannot say: ≤6000 characters across embeds; not empty; nobody pinged."""
    embeds = body.get("embeds") or []
    assert embeds_length(embeds) <= EMBEDS_TOTAL_MAX, "embeds exceed 6000 characters in total"
    assert body.get("content") or embeds or body.get("components") or body.get("attachments"), (
        "a message needs content or embeds"
    )
    mentions = body.get("allowed_mentions")
    assert mentions is not None and mentions.get("parse") == [], (
        f"allowed_mentions must block every ping, got {mentions!r}"
    )


def validate_all(records: Iterable[Any], *, skip_if_absent: bool = True) -> int:
    """Validate every recorded request of the fake that carries a body. Returns how many.

    With `skip_if_absent=False` it validates nothing (returns 0) when ../shared is missing, so a
    behavioural test still runs its own assertions; the contract tests themselves skip.
    """
    if not skip_if_absent and not spec_available():
        return 0
    n = 0
    for rec in records:
        if rec.method in ("GET", "DELETE"):
            continue
        validate_request(rec.method, rec.template, rec.body)
        n += 1
    return n
