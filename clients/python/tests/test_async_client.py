"""AsyncClient against the real server: the same calls as Client, concurrently on one connection."""
import asyncio

import pytest

import agentcube


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def test_async_lifecycle_and_errors(server, ssh_key):
    async def main():
        async with agentcube.AsyncClient(server.unix_target, token_file=server.alice_token_file) as client:
            assert (await client.health()).serving
            session = await client.create_session(ssh_public_key=ssh_key[1], ttl=300, metadata={"k": "v"})
            try:
                assert session.status is agentcube.SessionStatus.RUNNING and session.metadata == {"k": "v"}
                assert (await session.renew(900)).ttl_seconds == 900
                assert (await session.refresh()).id == session.id
                assert session.id in [s.id async for s in client.iter_sessions(page_size=1)]
                page = await client.list_sessions(page_size=100, timeout=5, call_metadata={"x-test": "1"})
                assert session.id in [s.id for s in page.sessions]
            finally:
                await session.delete()
            with pytest.raises(agentcube.NotFound):
                await client.get_session(session.id)
            with pytest.raises(agentcube.InvalidArgument):
                await client.create_session(ssh_user="-oProxyCommand=x")

    run(main())


def test_async_calls_run_concurrently_on_one_connection(server):
    async def main():
        async with agentcube.AsyncClient(server.unix_target, token_file=server.alice_token_file) as client:
            results = await asyncio.gather(*(client.list_sessions() for _ in range(50)),
                                           *(client.health() for _ in range(50)))
            assert len(results) == 100
            return client._connection

    connection = run(main())
    assert connection is not None


def test_async_tcp_target_and_context_manager_session(server, ssh_key):
    async def main():
        async with agentcube.AsyncClient(server.tcp_target, token=server.token()) as client:
            async with client.create_session(ssh_public_key=ssh_key[1]) as session:
                session_id = session.id
            with pytest.raises(agentcube.NotFound):
                await client.get_session(session_id)

    run(main())


def test_async_cancellation_of_a_call_leaves_the_connection_usable(server):
    async def main():
        async with agentcube.AsyncClient(server.unix_target, token_file=server.alice_token_file) as client:
            task = asyncio.ensure_future(client.list_sessions())
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await client.list_sessions()

    run(main())
