"""The synchronous Client against the real server."""
import os
import threading
import uuid

import pytest

import agentcube


def test_health_needs_no_token(server):
    with agentcube.Client(server.unix_target, token="") as client:
        health = client.health()
    assert health.serving and health.status == "SERVING" and health.backend == "local"


def test_tcp_target_and_env_server(server, monkeypatch):
    monkeypatch.setenv("AGENTCUBE_SERVER", server.tcp_target)
    monkeypatch.setenv("AGENTCUBE_TOKEN", server.token())
    with agentcube.Client() as client:
        assert client.target.port is not None
        assert client.list_sessions().sessions == [] or True


def test_session_lifecycle(client, ssh_key):
    with client.create_session(ssh_public_key=ssh_key[1], ttl=300, idle_timeout=120,
                               metadata={"purpose": "tests"}) as session:
        assert session.status is agentcube.SessionStatus.RUNNING
        assert uuid.UUID(session.id) and session.name == "sandbox-" + session.id[:8]
        assert session.metadata == {"purpose": "tests"} and session.ttl_seconds == 300
        assert session.idle_timeout_seconds == 120 and session.creator == "system:serviceaccount:tests:alice"
        assert session.ssh_host_public_key.startswith("ssh-ed25519 ")
        fetched = client.get_session(session.id)
        assert fetched.id == session.id and fetched.proto == session.refresh().proto
        before = session.expires_at_ms
        assert session.renew(600).ttl_seconds == 600 and session.expires_at_ms > before
        assert session.id in [s.id for s in client.iter_sessions()]
    with pytest.raises(agentcube.NotFound):
        client.get_session(session.id)


def test_pages(client, ssh_key):
    created = [client.create_session(ssh_public_key=ssh_key[1]) for _ in range(3)]
    try:
        first = client.list_sessions(page_size=2)
        assert len(first.sessions) == 2 and first.next_page_token
        second = client.list_sessions(page_size=2, page_token=first.next_page_token)
        seen = [s.id for s in first.sessions + second.sessions]
        assert set(s.id for s in created) <= set(seen)
        assert [s.id for s in client.iter_sessions(page_size=1)] == seen
    finally:
        for session in created:
            session.delete()


def test_each_status_code_has_its_exception():
    for code in agentcube.StatusCode:
        if code is agentcube.StatusCode.OK:
            continue
        name = "".join(part.capitalize() for part in code.name.split("_"))
        error_class = getattr(agentcube, name)
        error = agentcube.RPCError.from_status(code.value, "m")
        assert type(error) is error_class and issubclass(error_class, agentcube.RPCError)
        assert error.code is code and error.message == "m"
    assert isinstance(agentcube.RPCError.from_status(99, "m"), agentcube.Unknown)


def test_errors(server, client):
    with pytest.raises(agentcube.NotFound) as caught:
        client.get_session(str(uuid.uuid4()))
    assert caught.value.code is agentcube.StatusCode.NOT_FOUND and "not found" in caught.value.message
    with pytest.raises(agentcube.InvalidArgument):
        client.create_session(ttl=5)
    with pytest.raises(agentcube.InvalidArgument):
        client.get_session("not-a-uuid")
    with agentcube.Client(server.unix_target, token="not-a-token") as stranger:
        with pytest.raises(agentcube.Unauthenticated):
            stranger.list_sessions()
    with agentcube.Client(server.unix_target, token=None, token_file=None) as anonymous:
        os.environ.pop("AGENTCUBE_TOKEN", None)
        with pytest.raises(agentcube.Unauthenticated):
            anonymous.list_sessions()


def test_another_callers_session_is_permission_denied(server, client, ssh_key):
    with client.create_session(ssh_public_key=ssh_key[1]) as session:
        with agentcube.Client(server.unix_target, token_file=server.bob_token_file) as bob:
            for call in (lambda: bob.get_session(session.id), lambda: bob.renew_session(session.id, 600),
                         lambda: bob.delete_session(session.id), lambda: bob.open_tunnel(session.id)):
                with pytest.raises(agentcube.PermissionDenied):
                    call()
            assert session.id not in [s.id for s in bob.iter_sessions()]


def test_ssh_user_is_sent_and_reported_and_a_bad_one_is_invalid_argument(client, ssh_key):
    with client.create_session(ssh_public_key=ssh_key[1], ssh_user="agent") as session:
        assert session.ssh_user == "agent"
    with client.create_session(ssh_public_key=ssh_key[1]) as session:
        assert session.ssh_user == "root", "the server's default"
    with pytest.raises(agentcube.InvalidArgument, match="ssh_user"):
        client.create_session(ssh_user="root:x:0:0")


def test_token_file_is_read_again_when_it_changes(server, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("wrong\n")
    with agentcube.Client(server.unix_target, token_file=str(token_file)) as client:
        with pytest.raises(agentcube.Unauthenticated):
            client.list_sessions()
        token_file.write_text(server.token() + "\n")
        client.list_sessions()


def test_token_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("AGENTCUBE_TOKEN", server.token())
    with agentcube.Client(server.unix_target) as client:
        client.list_sessions()
    monkeypatch.delenv("AGENTCUBE_TOKEN")
    monkeypatch.setenv("AGENTCUBE_TOKEN_FILE", server.bob_token_file)
    with agentcube.Client(server.unix_target) as client:
        client.list_sessions()


def test_no_token_in_reprs_or_errors(server):
    token = server.token()
    with agentcube.Client(server.unix_target, token=token) as client:
        assert token not in repr(client) and token not in repr(client._async._tokens)
    with agentcube.Client(server.unix_target, token=token + "x") as client:
        with pytest.raises(agentcube.Unauthenticated) as caught:
            client.list_sessions()
        assert token not in str(caught.value)
    assert token not in server.log()


def test_per_call_timeout_and_metadata(client):
    client.health(timeout=5, call_metadata={"X-Request-Id": "42"})
    client.list_sessions(timeout=5, call_metadata=[("x-a", "1"), ("x-a", "2")])
    with pytest.raises(agentcube.ResourceExhausted, match="64 entries"):
        client.list_sessions(call_metadata=[("x-k", str(i)) for i in range(70)])


def test_many_threads_share_one_connection(client):
    errors = []

    def work():
        try:
            for _ in range(20):
                client.list_sessions()
                client.health()
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(t.is_alive() for t in threads)


def test_unreachable_targets_are_unavailable(tmp_path):
    with agentcube.Client(f"unix:{tmp_path}/nothing.sock", token="t", timeout=5) as client:
        with pytest.raises(agentcube.Unavailable, match="cannot connect"):
            client.health()
    with pytest.raises(agentcube.InvalidArgument):
        agentcube.Client("no-port-here")


def test_a_closed_client_refuses_calls(server):
    client = agentcube.Client(server.unix_target)
    client.close()
    client.close()
    with pytest.raises(RuntimeError):
        client.health()
