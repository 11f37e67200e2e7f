"""The SDK and declared functions (PROTOCOL.md, "Extension: declared functions"): the session's
``functions``, ``function=`` on listings and ``function`` in filters, against the local stack."""

import asyncio

from session_relay_client import AsyncSessionRelay, SessionFilter

from session_relay_tools.simulate import identity_for


def at_place(fleet, place_id, index, **options):
    identity = identity_for(fleet.script_id, index, place_id=place_id)
    return fleet.connect(1, identity=identity, **options)[0]


def test_a_session_shows_the_functions_its_client_declared(relay, fleet, place_id):
    demo = at_place(fleet, place_id, 0)
    custom = at_place(fleet, place_id, 1, functions={"teleport": lambda data: data})
    silent = at_place(fleet, place_id, 2, declare=False)

    assert relay.get_session(demo.session_id).functions == ["echo", "error", "invalid", "sleep"]
    assert relay.get_session(custom.session_id).functions == ["teleport"]
    assert relay.get_session(silent.session_id).functions is None  # never declared: no field
    assert demo.declared == 4


def test_function_filters_listings_and_bulk_calls(relay, fleet, place_id):
    demo = at_place(fleet, place_id, 0)
    custom = at_place(fleet, place_id, 1, functions={"teleport": lambda data: ["moved", data]})

    listed = relay.list_sessions(place_id=place_id, function="teleport")
    every = [session.id for session in relay.iter_sessions(place_id=place_id, function="echo", page_size=1)]
    result = relay.message_many(
        SessionFilter(place_id=place_id, function="teleport"), "teleport", 7, timeout=10
    )

    assert [session.id for session in listed.sessions] == [custom.session_id]
    assert every == [demo.session_id]
    assert result.matched == 1
    assert [(entry.session_id, entry.response) for entry in result.responses] == [
        (custom.session_id, ["moved", 7])
    ]
    assert relay.list_sessions(place_id=place_id, function="nobody-declared-this").sessions == []


def test_a_message_to_an_undeclared_function_is_answered_without_reaching_the_client(relay, fleet, place_id):
    custom = at_place(fleet, place_id, 0, functions={"teleport": lambda data: data})
    answer = relay.message(custom.session_id, "echo", 1, timeout=10)
    assert answer.processed is False
    assert answer.reason == "function doesnt exist"
    assert custom.handled == 0  # the server answered: no message frame reached the client
    assert not [frame for frame in custom.received if frame.get("type") == "message"]


def test_the_async_client_filters_by_function(local_stack, fleet, place_id):
    custom = at_place(fleet, place_id, 0, functions={"teleport": lambda data: data})
    at_place(fleet, place_id, 1)

    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            page = await relay.list_sessions(place_id=place_id, function="teleport")
            listed = [s.id async for s in relay.iter_sessions(place_id=place_id, function="teleport")]
            return page, listed

    page, listed = asyncio.run(scenario())
    assert [session.id for session in page.sessions] == listed == [custom.session_id]
    assert page.sessions[0].functions == ["teleport"]
