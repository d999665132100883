"""Drives FastMCP's own client for the harness: one verb per process, as a Python program using
FastMCP would.

    fastmcp_client.py {login|import|call|logout} URL --store DIR
                      [--client-id ID --client-secret SECRET] [--tool NAME --arguments JSON]

Everything OAuth is FastMCP's: `fastmcp.Client(url, auth=OAuth(...))` discovers, registers, opens
the browser through Python's `webbrowser` (which honours $BROWSER), listens for the callback on
a port of its own choosing, redeems the code and refreshes. The one choice made here is where
tokens live: FastMCP keeps them in memory unless given a key-value store, so they are kept as its
own CLI keeps them (a FileTreeStore with FastMCP's V1 file names), unencrypted so the harness can
read what was stored (never the secrets themselves) and a later process can find them.

What it prints: for `import`, `{"tools": [{"name", "inputSchema"}]}`; for `call`,
`{"content": "<the text blocks>", "isError": bool}`. Failures go to stderr with exit status 1.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from fastmcp import Client
from fastmcp.client.auth import OAuth
from key_value.aio.stores.filetree import (
    FileTreeStore,
    FileTreeV1CollectionSanitizationStrategy,
    FileTreeV1KeySanitizationStrategy,
)


def token_store(directory: Path) -> FileTreeStore:
    directory.mkdir(parents=True, exist_ok=True)
    return FileTreeStore(
        data_directory=directory,
        key_sanitization_strategy=FileTreeV1KeySanitizationStrategy(directory),
        collection_sanitization_strategy=FileTreeV1CollectionSanitizationStrategy(directory),
    )


def oauth(args: argparse.Namespace) -> OAuth:
    return OAuth(
        mcp_url=args.url,
        token_storage=token_store(Path(args.store)),
        client_id=args.client_id or None,
        client_secret=args.client_secret or None,
    )


async def run(args: argparse.Namespace) -> None:
    auth = oauth(args)
    if args.verb == "logout":
        # FastMCP's own way to forget a server: its stored tokens and client registration go
        # (nothing is revoked at the authorization server).
        await auth.token_storage_adapter.clear()
        print("cleared")
        return
    # Connecting is the login: FastMCP authorizes when the server asks for it.
    async with Client(args.url, auth=auth) as client:
        if args.verb == "login":
            print("connected")
        elif args.verb == "import":
            tools = await client.list_tools()
            listed = [{"name": t.name, "inputSchema": t.inputSchema} for t in tools]
            print(json.dumps({"tools": listed}))
        elif args.verb == "call":
            result = await client.call_tool(args.tool, json.loads(args.arguments), raise_on_error=False)
            text = "\n".join(block.text for block in result.content if getattr(block, "text", None) is not None)
            print(json.dumps({"content": text, "isError": result.is_error}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verb", choices=["login", "import", "call", "logout"])
    parser.add_argument("url")
    parser.add_argument("--store", required=True, help="the token store's directory")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--tool")
    parser.add_argument("--arguments", default="{}")
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except Exception as error:  # noqa: BLE001 — the harness reads the reason, whatever it is
        # The error and its explicit causes, each only when it says something new: the implicit
        # context is anyio's task-group machinery (cancel scopes named by their address).
        said = f"{type(error).__name__}: {error}"
        cause = error.__cause__
        while cause is not None:
            if str(cause) not in said:
                said += f" | caused by {type(cause).__name__}: {cause}"
            cause = cause.__cause__
        print("error: " + said, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
