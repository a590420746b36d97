"""The simulated portal's write side, over real HTTP, as the reference documents it: users created,
updated and deleted, custom data by name and with use_definition_ids, group memberships with
group courses enrolling members, invites, the documented errors, writes counted against the
rate limit, and lost replies (the write applied, the connection dropped before the answer)."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.learnupon.errors import LearnUponAPIError, WriteOutcomeUnknown

from tests.support.sync_roster import client_for


def user(portal: Any, user_id: int) -> dict[str, Any]:
    with client_for(portal) as client:
        body = client.get_json(f"/users/{user_id}")
    record = body["user"][0]
    labels = {d["id"]: d["label"] for d in body["customDataFieldDefinitions"]}
    record["custom"] = {labels[v["definition_id"]]: v["value"] for v in record["customDataFieldValues"]}
    return record


def refused(call: Any) -> LearnUponAPIError:
    with pytest.raises(LearnUponAPIError) as info:
        call()
    return info.value


def test_create_update_and_delete_a_user(portal: Any) -> None:
    with client_for(portal) as client:
        reply = client.send("POST", "/users", {"User": {
            "email": "Ada.Lovelace@example.org", "first_name": "Ada", "last_name": "Lovelace", "password": "s3cret-pw",
            "change_password_on_first_login": True, "CustomData": {"Employee ID": "X100", "department": "Research",
                                                                   "position": "Analyst", "hire date": "2026-01-05"}}})
        uid = reply["id"]
        created = user(portal, uid)
        assert (created["email"], created["first_name"], created["enabled"]) == ("Ada.Lovelace@example.org", "Ada", True)
        assert created["custom"] == {"employee id": "X100", "department": "Research", "position": ["Analyst"],
                                     "hire date": "2026-01-05"}
        assert portal.state.passwords[uid] == {"password": "s3cret-pw", "change_password_on_first_login": True}

        # by numeric id: a new email goes in `email`; custom data keyed by definition id
        client.send("PUT", f"/users/{uid}", {"User": {"email": "ada@example.org", "last_name": "King",
                                                       "CustomData": {"use_definition_ids": 1, "231": "Maths", "640": "Director"}}})
        updated = user(portal, uid)
        assert (updated["email"], updated["last_name"]) == ("ada@example.org", "King")
        assert updated["custom"]["department"] == "Maths" and updated["custom"]["position"] == ["Director"]
        # id 0: found by the email in the payload, renamed with new_email
        client.send("PUT", "/users/0", {"User": {"email": "ada@example.org", "new_email": "countess@example.org", "enabled": False}})
        renamed = user(portal, uid)
        assert renamed["email"] == "countess@example.org" and renamed["enabled"] is False
        client.send("DELETE", f"/users/{uid}")
        assert refused(lambda: client.get_json(f"/users/{uid}")).status == 404
        assert refused(lambda: client.send("DELETE", f"/users/{uid}")).status == 404
    assert uid in portal.ground_truth()["deleted_user_ids"]


def test_a_user_created_with_a_username_only(portal: Any) -> None:
    """Reference, "Create a user": email OR username, plus a password; a username portal's user may have no email."""
    with client_for(portal) as client:
        first = client.send("POST", "/users", {"User": {"username": "grace.h", "first_name": "Grace", "password": "s3cret-pw",
                                                        "CustomData": {"employee id": "U1"}}})["id"]
        second = client.send("POST", "/users", {"User": {"username": "alan.t", "password": "s3cret-pw"}})["id"]
        created = user(portal, first)
        assert (created["username"], created["email"], created["custom"]) == ("grace.h", "", {"employee id": "U1"})
        found = client.get_json("/users/search", {"username": "GRACE.H"})  # usernames are found in any case
        assert [u["id"] for u in found["user"]] == [first]
        # a second user without an email is no clash; a taken or malformed username is refused
        assert refused(lambda: client.send("POST", "/users", {"User": {"username": "grace.h", "password": "123456"}})).status == 400
        assert refused(lambda: client.send("POST", "/users", {"User": {"username": "a b", "password": "123456"}})).status == 404
        # updated by the username in the payload; a new username by numeric id in `username`, or new_username with id 0
        client.send("PUT", f"/users/{first}", {"User": {"username": "grace.hopper", "last_name": "Hopper"}})
        client.send("PUT", "/users/0", {"User": {"username": "alan.t", "new_username": "alan.turing", "email": ""}})
        assert (user(portal, first)["username"], user(portal, first)["last_name"]) == ("grace.hopper", "Hopper")
        assert user(portal, second)["username"] == "alan.turing" and user(portal, second)["email"] == ""
        # an email added later is an ordinary email
        client.send("PUT", f"/users/{second}", {"User": {"username": "alan.turing", "email": "alan@example.org"}})
        assert client.get_json("/users/search", {"email": "alan@example.org"})["user"][0]["id"] == second


def test_the_documented_errors(portal: Any) -> None:
    taken = next(iter(portal.state.users.values()))
    with client_for(portal) as client:
        def create(user_fields: dict[str, Any]) -> LearnUponAPIError:
            return refused(lambda: client.send("POST", "/users", {"User": user_fields}))

        duplicate = create({"email": taken.email.upper(), "password": "123456"})
        assert duplicate.status == 400 and "already been taken" in duplicate.api_message
        assert create({"first_name": "No", "password": "123456"}).status == 404  # neither email nor username
        assert create({"email": "short@example.org", "password": "12345"}).status == 404  # 6+ characters
        assert create({"email": "not-an-email", "password": "123456"}).status == 404
        assert "position" in create({"email": "a@example.org", "password": "123456", "CustomData": {"position": "Astronaut"}}).api_message
        assert create({"email": "b@example.org", "password": "123456", "CustomData": {"no such field": "x"}}).status == 404
        assert create({"email": "c@example.org", "password": "123456", "CustomData": {"age": "old"}}).status == 404
        assert refused(lambda: client.send("POST", "/users", {"user": {"email": "d@example.org", "password": "123456"}})).status == 404
        # every update payload needs email or username, even with the numeric id
        assert refused(lambda: client.send("PUT", f"/users/{taken.id}", {"User": {"first_name": "X"}})).status == 404
        assert refused(lambda: client.send("PUT", "/users/999", {"User": {"email": "x@example.org"}})).status == 404
        other = list(portal.state.users.values())[1]
        clash = refused(lambda: client.send("PUT", f"/users/{other.id}", {"User": {"email": taken.email}}))
        assert clash.status == 400
    assert len(portal.state.users) == 120  # nothing refused was applied


def test_group_memberships_enroll_in_group_courses(portal: Any) -> None:
    st = portal.state
    group_id = next(gid for gid in st.groups if any(gc["group_id"] == gid for gc in st.group_courses.values()))
    families = {gc["source_id"] for gc in st.group_courses.values()
                if gc["group_id"] == group_id and st.courses[gc["source_id"]].family.live_version(st.courses)}
    outsiders = [u for u in st.users.values() if group_id not in u.groups and not st.enr_by_user.get(u.id)]
    joiner, quiet = outsiders[0], outsiders[1]

    def families_of(user_id: int) -> set[int]:
        return {st.courses[st.enrollments[e].course_id].family.source_id for e in st.enr_by_user.get(user_id, [])}

    with client_for(portal) as client:
        membership = client.send("POST", "/group_memberships", {"GroupMembership": {"group_id": group_id, "user_id": joiner.id}})
        assert families and families_of(joiner.id) == families  # process_enrollments defaults to true
        groups = client.get_json("/group_memberships", {"user_id": joiner.id})["group"]
        assert group_id in {g["id"] for g in groups}
        assert refused(lambda: client.send("POST", "/group_memberships",
                                           {"GroupMembership": {"group_id": group_id, "user_id": joiner.id}})).status == 400
        # the flag inside the object or beside it: the reference does not say which
        client.send("POST", "/group_memberships", {"GroupMembership": {"group_id": group_id, "user_id": quiet.id},
                                                   "process_enrollments": False})
        assert families_of(quiet.id) == set()
        # removed by membership id (unenrolled from the group's courses), or by id 0 with group and user
        client.send("DELETE", f"/group_memberships/{membership['id']}")
        assert families_of(joiner.id) == set()
        client.send("DELETE", "/group_memberships/0", {"GroupMembership": {"group_id": group_id, "user_id": quiet.id}})
        assert group_id not in quiet.groups
        assert refused(lambda: client.send("DELETE", f"/group_memberships/{membership['id']}")).status == 404


def test_invites_are_listed_and_accepted(portal: Any) -> None:
    from pipelines.simulator.domains.invites import accept_invites

    with client_for(portal) as client:
        reply = client.send("POST", "/portal_invite", {"Invite": {"email": "guest@example.org", "first_name": "Gu",
                                                                  "CustomData": {"employee id": "G1"}}})
        assert reply["email"] == "guest@example.org"
        listed = client.get_json("/group_invites", {"invite_email_address": "GUEST@example.org"})["group_invite"]
        assert [(i["id"], i["invite_status"]) for i in listed] == [(reply["id"], "sent")]
        assert portal.ground_truth()["group_invites"] == listed
        taken = next(iter(portal.state.users.values())).email
        assert refused(lambda: client.send("POST", "/portal_invite", {"Invite": {"email": taken}})).status == 400
    with portal.lock:
        (new_id,) = accept_invites(portal.api)
    assert user(portal, new_id)["custom"] == {"employee id": "G1"}


def test_writes_count_against_the_rate_limit(portal_factory: Any) -> None:
    import httpx

    portal = portal_factory(users=20, rate_per_week=3)  # the rolling week: no minute boundary to race
    with client_for(portal) as client:
        for i in range(3):
            client.send("POST", "/users", {"User": {"email": f"r{i}@example.org", "password": "123456"}})
        assert client.limiter.snapshot.remaining_week == 0  # three writes spent the budget
    fourth = httpx.post(f"{portal.base_url}/users", json={"User": {"email": "r3@example.org", "password": "123456"}},
                        auth=(portal.config.username, portal.config.password))
    assert fourth.status_code == 429
    assert portal.calls["POST /users"] == 3 and len(portal.state.users) == 23


def test_a_lost_reply_was_applied(portal: Any) -> None:
    portal.set_faults(1.0, ("lost",))
    with client_for(portal) as client:
        with pytest.raises(WriteOutcomeUnknown):
            client.send("POST", "/users", {"User": {"email": "lost@example.org", "password": "123456"}})
        portal.set_faults(0.0)
        found = client.get_json("/users/search", {"email": "lost@example.org"})["user"]
    assert len(found) == 1 and portal.faults.injected["lost"] == 1
    assert client.stats.as_dict()["faults"] == {"connection": 1}


def test_a_refused_connection_is_retried_but_a_5xx_write_is_not(portal: Any) -> None:
    portal.set_faults(1.0, ("500",))
    with client_for(portal) as client:
        with pytest.raises(WriteOutcomeUnknown):
            client.send("POST", "/users", {"User": {"email": "five@example.org", "password": "123456"}})
    portal.set_faults(0.0)
    assert client.stats.as_dict()["endpoints"]["POST /users"]["calls"] == 1  # never repeated blindly
    assert not any(u.email == "five@example.org" for u in portal.state.users.values())


def test_removals_are_in_the_ground_truths_deleted_ids_and_the_trail(portal: Any) -> None:
    import httpx

    st = portal.state
    group_id = next(gid for gid in st.groups if any(gc["group_id"] == gid for gc in st.group_courses.values()))
    joiner = next(u for u in st.users.values() if group_id not in u.groups and not st.enr_by_user.get(u.id))
    with client_for(portal) as client:
        membership = client.send("POST", "/group_memberships", {"GroupMembership": {"group_id": group_id, "user_id": joiner.id}})
        enrolled = set(st.enr_by_user[joiner.id])
        client.send("DELETE", f"/group_memberships/{membership['id']}")
        trail = client.get_json("/audit-trails", {"action_id": "12"})["trails"]
    truth = portal.ground_truth()
    assert enrolled and enrolled <= set(truth["deleted_enrollment_ids"])  # not started: deleted, not kept as history
    assert [group_id, joiner.id] in truth["deleted_group_memberships"]
    assert not any(m["user_id"] == joiner.id and m["group_id"] == group_id for m in truth["group_memberships"])
    removal = [t for t in trail if t["impacted_user_email"] == joiner.email]
    assert len(removal) == 1 and removal[0]["initiated_by_user"] == "" and removal[0]["impacted_data"] == st.groups[group_id]["title"]
    # a body that is not JSON is refused like any other invalid parameters, and nothing is made
    raw = httpx.post(f"{portal.base_url}/users", content=b"{not json", auth=(portal.config.username, portal.config.password))
    assert raw.status_code == 404 and raw.json()["message"].startswith("Invalid parameters")
    assert len(st.users) == 120


def test_an_endpoint_fault_loses_every_reply_of_one_write(portal: Any) -> None:
    target = list(portal.state.users.values())[5]
    portal.set_endpoint_faults({"PUT /users/{id}": "lost"})
    with client_for(portal) as client:
        with pytest.raises(WriteOutcomeUnknown):
            client.send("PUT", f"/users/{target.id}", {"User": {"email": target.email, "last_name": "Applied"}})
        assert client.get_json(f"/users/{target.id}")["user"][0]["last_name"] == "Applied"  # reads still answer
        made = client.send("POST", "/users", {"User": {"email": "unaffected@example.org", "password": "123456"}})
    assert made["id"] in portal.state.users
    assert portal.faults.injected["lost"] == 1 and portal.calls["PUT /users/{id}"] == 1
