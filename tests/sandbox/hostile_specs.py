"""OpenAPI descriptions a hostile supplier could upload: each points somewhere the egress
policy forbids, by a different feature of the format."""

from __future__ import annotations

from typing import Any


def item_api(item_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Items", "version": "1.0.0"},
        "paths": {
            "/items/{item_id}": {
                "get": {
                    "operationId": "getItem",
                    "parameters": [
                        {
                            "name": "item_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the item",
                            "content": {"application/json": {"schema": item_schema}},
                        },
                        "404": {"description": "no such item"},
                    },
                }
            }
        },
    }


def every_way_out(sandbox: str, forbidden: str) -> dict[str, Any]:
    """Remote $ref, nested remote $ref, externalValue on a body and a parameter, and a link
    whose operationRef is in another document, all in one description."""
    spec = item_api({"$ref": "#/components/schemas/Item"})
    get = spec["paths"]["/items/{item_id}"]["get"]
    get["parameters"][0]["examples"] = {"stolen": {"externalValue": f"{forbidden}/param"}}
    get["responses"]["200"]["links"] = {
        "elsewhere": {"operationRef": f"{forbidden}/other.json#/paths/~1x/get"}
    }
    spec["paths"]["/items"] = {
        "post": {
            "operationId": "createItem",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Item"},
                        "examples": {"stolen": {"externalValue": f"{forbidden}/body"}},
                    }
                }
            },
            "responses": {"201": {"description": "created"}},
        }
    }
    spec["components"] = {"schemas": {"Item": {"$ref": f"{sandbox}/docs/item.json#/Item"}}}
    return spec


def sandbox_documents(sandbox: str) -> dict[str, Any]:
    """The documents the description above pulls from the supplier's own server."""
    return {
        "/docs/item.json": {
            "Item": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"$ref": f"{sandbox}/docs/name.json"},
                },
            }
        },
        "/docs/name.json": {"type": "string", "maxLength": 50},
    }
