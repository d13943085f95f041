"""WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from urllib.parse import unquote, urldefrag

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actors.organizations import count as count_organizations
from federation import nodeinfo, outbox, webfinger
from federation.node import INSTANCE_USERNAME
from web.negotiation import JRDResponse
from web.routes import common


async def webfinger_endpoint(request: Request) -> Response:
    node = common.node(request)
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return JSONResponse({"error": "the resource parameter is required"}, status_code=400)
    config = node.federation.config
    username: str | None = None
    if resource.startswith(("http://", "https://")):
        async with node.db.read() as session:
            actor = await node.federation.local_actor_by_uri(session, urldefrag(resource).url)
        username = actor.username if actor else None
    else:
        try:
            name, host = webfinger.parse_handle(resource)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if host != config.domain:
            return JSONResponse({"error": "not a resource of this server"}, status_code=404)
        # The instance actor answers to its handle, to the domain (as Mastodon's does) and to
        # `relay`, the name Mobilizon looks up to follow a whole instance.
        name = unquote(name).lower()
        username = INSTANCE_USERNAME if name in (config.domain, "relay") else name
    if username is None:
        return JSONResponse({"error": "no such actor"}, status_code=404)
    async with node.db.read() as session:
        actor = await node.federation.local_actor_by_username(session, username)
    if actor is None:
        return JSONResponse({"error": "no such actor"}, status_code=404)
    page = actor.uri if actor.actor_type != "Application" else f"{config.base_url}/about"
    return JRDResponse(
        webfinger.jrd(
            subject=f"acct:{actor.username}@{config.domain}",
            actor_uri=actor.uri,
            profile_url=page,
            aliases=[actor.uri],
        ),
        headers={"Access-Control-Allow-Origin": "*"},
    )


async def host_meta(request: Request) -> Response:
    base = common.node(request).federation.config.base_url
    return Response(webfinger.host_meta(base), media_type="application/xrd+xml")


async def nodeinfo_discovery(request: Request) -> Response:
    config = common.node(request).federation.config
    return JSONResponse(nodeinfo.discovery(config, f"{config.base_url}/actor"))


async def nodeinfo_document(request: Request) -> Response:
    node = common.node(request)
    async with node.db.read() as session:
        organizations = await count_organizations(session)
        posts = await outbox.public_creates(session)
    body = nodeinfo.document(
        node.federation.config,
        users=organizations,
        local_posts=posts,
        metadata={"nodeName": node.settings.node_name},
        instance_actor_uri=f"{node.federation.config.base_url}/actor",
    )
    return JSONResponse(
        body,
        media_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"',
    )


routes = [
    Route("/.well-known/webfinger", webfinger_endpoint),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_discovery),
    Route("/nodeinfo/2.1", nodeinfo_document),
]
