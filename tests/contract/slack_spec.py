"""Contract checks for what the bot sends to Slack, against ../shared/specs (see its README).

- `blocks`: the community Block Kit JSON Schema (draft 2020-12), plus the limits the schema does
  not enforce across a payload (≤50 blocks per message, header ≤150, section ≤3000, ≤10 fields of
  ≤2000, unique block_id/action_id).
- chat.postMessage parameters: the Web API OpenAPI v2 spec (`formData` names and types; `channel`
  required). Its `blocks` is typed as a string there, so blocks are checked by the schema above.
- Responses of the fake Slack: the spec's "chat.postMessage success/error schema".

Every helper skips the calling test, with a message, when ../shared is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
BLOCK_KIT_SCHEMA = SHARED / "specs" / "slack-block-kit" / "slack-block-kit.schema.json"
WEB_API_SPEC = SHARED / "specs" / "slack" / "slack_web_openapi_v2.json"

MAX_BLOCKS = 50
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
MAX_FIELDS = 10
FIELD_TEXT_MAX = 2000


def _require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"Slack spec not available ({path} is absent; ../shared not mounted)")
    return path


@cache
def _block_validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(_require(BLOCK_KIT_SCHEMA).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@cache
def _web_api() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_require(WEB_API_SPEC).read_text(encoding="utf-8"))
    return data


def block_errors(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Everything wrong with a message's blocks (empty list when valid)."""
    errors = [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _block_validator().iter_errors(list(blocks))
    ]
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    seen_block_ids: set[str] = set()
    seen_action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        kind = block.get("type")
        text = block.get("text") or {}
        if kind == "header" and len(text.get("text", "")) > HEADER_MAX:
            errors.append(f"{i}: header text {len(text['text'])} > {HEADER_MAX}")
        if kind == "section":
            if len(text.get("text", "")) > SECTION_TEXT_MAX:
                errors.append(f"{i}: section text {len(text['text'])} > {SECTION_TEXT_MAX}")
            fields = block.get("fields") or []
            if len(fields) > MAX_FIELDS:
                errors.append(f"{i}: {len(fields)} fields > {MAX_FIELDS}")
            for j, f in enumerate(fields):
                if len(f.get("text", "")) > FIELD_TEXT_MAX:
                    errors.append(f"{i}.fields.{j}: {len(f['text'])} > {FIELD_TEXT_MAX}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                errors.append(f"{i}: duplicate block_id {block_id}")
            seen_block_ids.add(block_id)
        for element in block.get("elements") or []:
            action_id = element.get("action_id") if isinstance(element, Mapping) else None
            if action_id is not None:
                if action_id in seen_action_ids:
                    errors.append(f"{i}: duplicate action_id {action_id}")
                seen_action_ids.add(action_id)
    return errors


def assert_valid_blocks(blocks: Sequence[Mapping[str, Any]]) -> None:
    errors = block_errors(blocks)
    assert not errors, "invalid Block Kit payload:\n" + "\n".join(errors)


_SWAGGER_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


# Parameters Slack added after the spec snapshot (2020), checked by hand against the docs.
NEWER_POST_MESSAGE_PARAMS: dict[str, tuple[type, ...]] = {"metadata": (dict, str)}


def post_message_errors(params: Mapping[str, Any], method: str = "chat.postMessage") -> list[str]:
    """chat.postMessage (or chat.update) parameters, as the SDK sent them (JSON body),
    against the Web API spec."""
    op = _web_api()["paths"][f"/{method}"]["post"]
    declared = {p["name"]: p for p in op["parameters"] if p.get("in") == "formData"}
    errors: list[str] = []
    for name, p in declared.items():
        if p.get("required") and name not in params:
            errors.append(f"missing required parameter {name}")
    for name, value in params.items():
        if name in ("blocks", "attachments"):
            # A string in form posts; the SDK sends a JSON array in a JSON body, which Slack
            # accepts. The contents are checked by the Block Kit schema instead.
            if not isinstance(value, str | list):
                errors.append(f"{name}: expected array or JSON string")
            continue
        spec = declared.get(name)
        if spec is None and name in NEWER_POST_MESSAGE_PARAMS:
            if not isinstance(value, NEWER_POST_MESSAGE_PARAMS[name]):
                errors.append(f"{name}: unexpected type {type(value).__name__}")
            elif (
                name == "metadata"
                and isinstance(value, dict)
                and not {"event_type", "event_payload"} <= set(value)
            ):
                errors.append("metadata needs event_type and event_payload")
            continue
        if spec is None:
            errors.append(f"unknown parameter {name}")
            continue
        if not isinstance(value, _SWAGGER_TYPES[spec["type"]]):
            errors.append(f"{name}: {type(value).__name__}, spec says {spec['type']}")
    return errors


def assert_valid_post_message(params: Mapping[str, Any], method: str = "chat.postMessage") -> None:
    errors = post_message_errors(params, method)
    assert not errors, f"invalid {method} parameters:\n" + "\n".join(errors)
    if "blocks" in params:
        blocks = params["blocks"]
        assert_valid_blocks(json.loads(blocks) if isinstance(blocks, str) else blocks)


def response_errors(body: Mapping[str, Any]) -> list[str]:
    """A chat.postMessage response (from the fake) against the spec's response schemas."""
    from jsonschema import Draft4Validator

    spec = _web_api()
    responses = spec["paths"]["/chat.postMessage"]["post"]["responses"]
    # Swagger 2 schemas are draft 4; their refs point at #/definitions of the whole document,
    # so the definitions travel with the schema.
    schema = dict(responses["200" if body.get("ok") else "default"]["schema"])
    schema["definitions"] = spec.get("definitions", {})
    return [e.message for e in Draft4Validator(schema).iter_errors(dict(body))]
