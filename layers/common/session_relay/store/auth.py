"""Scripts and owner API keys: ``pk`` -> ``script#<id>`` or ``apikey#<sha256>`` in the auth table."""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from session_relay.store.items import Tables, auth_key, condition_failed, n, s, translated_errors


@dataclass(frozen=True, slots=True)
class ScriptRecord:
    script_id: str
    name: str
    enabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    key_hash: str
    script_ids: tuple[str, ...]
    name: str
    created_at: int
    revoked: bool


def script_from_item(item: dict[str, Any]) -> ScriptRecord:
    return ScriptRecord(
        script_id=item["script_id"]["S"],
        name=item["name"]["S"],
        enabled=item["enabled"]["BOOL"],
        created_at=int(item["created_at"]["N"]),
    )


def api_key_from_item(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"]["S"],
        key_hash=item["key_hash"]["S"],
        script_ids=tuple(value["S"] for value in item["script_ids"]["L"]),
        name=item["name"]["S"],
        created_at=int(item["created_at"]["N"]),
        revoked=item["revoked"]["BOOL"],
    )


class AuthStore(Tables):
    def get_script(self, script_id: str) -> ScriptRecord | None:
        item = self._get(self.auth_table, auth_key("script", script_id))
        return None if item is None else script_from_item(item)

    def put_script(self, script: ScriptRecord) -> None:
        with translated_errors():
            self.client.put_item(
                TableName=self.auth_table,
                Item={
                    **auth_key("script", script.script_id),
                    "kind": s("script"),
                    "script_id": s(script.script_id),
                    "name": s(script.name),
                    "enabled": {"BOOL": script.enabled},
                    "created_at": n(script.created_at),
                },
            )

    def set_script_enabled(self, script_id: str, enabled: bool) -> bool:
        """Enable or disable a script; False when it does not exist."""
        try:
            with translated_errors():
                self.client.update_item(
                    TableName=self.auth_table,
                    Key=auth_key("script", script_id),
                    UpdateExpression="SET enabled = :enabled",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":enabled": {"BOOL": enabled}},
                )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._get(self.auth_table, auth_key("apikey", key_hash))
        return None if item is None else api_key_from_item(item)

    def put_api_key(self, key: ApiKeyRecord, replace: bool = False) -> None:
        """Store a key by its hash; refuses to overwrite an existing one unless ``replace``."""
        condition = {} if replace else {"ConditionExpression": "attribute_not_exists(pk)"}
        with translated_errors():
            self.client.put_item(
                TableName=self.auth_table,
                Item={
                    **auth_key("apikey", key.key_hash),
                    "kind": s("apikey"),
                    "key_id": s(key.key_id),
                    "key_hash": s(key.key_hash),
                    "script_ids": {"L": [s(script_id) for script_id in key.script_ids]},
                    "name": s(key.name),
                    "created_at": n(key.created_at),
                    "revoked": {"BOOL": key.revoked},
                },
                **condition,
            )

    def list_scripts(self) -> list[ScriptRecord]:
        return sorted(
            (script_from_item(item) for item in self._scan_auth("script")), key=lambda s: s.created_at
        )

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return sorted(
            (api_key_from_item(item) for item in self._scan_auth("apikey")), key=lambda k: k.created_at
        )

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke the key with this public id; False when no such key exists."""
        for key in self.list_api_keys():
            if key.key_id == key_id:
                with translated_errors():
                    self.client.update_item(
                        TableName=self.auth_table,
                        Key=auth_key("apikey", key.key_hash),
                        UpdateExpression="SET revoked = :yes",
                        ExpressionAttributeValues={":yes": {"BOOL": True}},
                    )
                return True
        return False

    def _scan_auth(self, kind: str) -> list[dict[str, Any]]:
        scan: dict[str, Any] = {
            "TableName": self.auth_table,
            "FilterExpression": "kind = :kind",
            "ExpressionAttributeValues": {":kind": s(kind)},
            "ConsistentRead": True,
        }
        return list(self._items(self.client.scan, scan))
