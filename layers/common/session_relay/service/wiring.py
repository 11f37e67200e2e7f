"""The container's services, built once (cached) from the settings, the store and the gateway."""

from functools import lru_cache

from session_relay.gateway import Gateway, gateway_for
from session_relay.service.access import Authenticator
from session_relay.service.bans import Bans
from session_relay.service.broadcasts import Broadcasts
from session_relay.service.broadcasts_chunks import ChunkSender
from session_relay.service.broadcasts_queue import get_queue
from session_relay.service.broadcasts_worker import Worker
from session_relay.service.delivery import DeliveryCore
from session_relay.service.disconnects import Disconnects
from session_relay.service.messaging import Messaging
from session_relay.service.sessions import Sessions
from session_relay.settings import get_settings
from session_relay.store import get_store


def _gateway() -> Gateway:
    url = get_settings().management_api_url
    if not url:
        raise RuntimeError("MANAGEMENT_API_URL is not set: the REST API cannot reach the WebSocket API")
    return gateway_for(url)


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    return Authenticator(get_store(), get_settings().api_key_cache_ttl_s)


@lru_cache(maxsize=1)
def get_sessions() -> Sessions:
    return Sessions(get_store())


@lru_cache(maxsize=1)
def get_disconnects() -> Disconnects:
    return Disconnects(get_store(), _gateway(), get_settings())


@lru_cache(maxsize=1)
def get_messaging() -> Messaging:
    return Messaging(get_store(), _gateway(), get_settings())


@lru_cache(maxsize=1)
def get_broadcasts() -> Broadcasts:
    return Broadcasts(get_store(), get_settings(), get_queue)


@lru_cache(maxsize=1)
def get_worker() -> Worker:
    """The broadcast worker's services: the delivery core, the disconnects and the work queue."""
    store, settings, gateway = get_store(), get_settings(), _gateway()
    core = DeliveryCore(store, gateway, settings.post_workers)
    sender = ChunkSender(store, core, Disconnects(store, gateway, settings), settings)
    return Worker(store, sender, settings, get_queue())


@lru_cache(maxsize=1)
def get_bans() -> Bans:
    return Bans(get_store(), get_disconnects())


CACHED = (
    get_authenticator,
    get_sessions,
    get_disconnects,
    get_messaging,
    get_broadcasts,
    get_worker,
    get_queue,
    get_bans,
)
"""Every cached service, for tests that change the environment between cases."""
