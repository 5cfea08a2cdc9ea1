"""State transfer between Java and Python (pbcast.STATE_TRANSFER on tcp-state.xml): a joiner asks the coordinator
for its state with JChannel.getState() / Channel.get_state(); the coordinator's application hands out bytes
(Receiver.getState / Channel.state_provider), the joiner's application installs them (Receiver.setState /
Channel.on_state). Both directions, 1 KB and 10 MB (fragmented by FRAG2), with a Java-only control."""

from __future__ import annotations

import pytest
from cluster import Cluster

VIEW_TIMEOUT = 30.0
SIZES = {"1KB": 1024, "10MB": 10 * 1024 * 1024}
# (provider = coordinator, requester) per direction; "java" replays each with Java nodes only
DIRECTIONS = {"python-to-java": ("P1", "J1"), "java-to-python": ("J1", "P1")}


def lang(role: str, mix: str) -> str:
    return "python" if mix == "mixed" and role.startswith("P") else "java"


@pytest.mark.parametrize("mix", ["mixed", "java"])
@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
def test_a_joiner_gets_the_coordinators_state(make_cluster, direction: str, size: str, mix: str) -> None:
    provider_role, requester_role = DIRECTIONS[direction]
    c: Cluster = make_cluster("tcp-state.xml")
    provider = c.start(provider_role, lang(provider_role, mix))
    stored = provider.request({"cmd": "set_state", "size": SIZES[size], "seed": 7}, "state_stored")
    requester = c.start(requester_role, lang(requester_role, mix))
    c.wait_same_view([provider_role, requester_role], VIEW_TIMEOUT)
    since = requester.mark()
    done = requester.request({"cmd": "get_state", "target": None, "timeout": 60_000}, "state_done", timeout=90)
    assert done["ok"], done
    installed = requester.wait_for(lambda e: e["event"] == "state_set", 30, since, what="state_set")
    assert (installed["size"], installed["sha256"]) == (stored["size"], stored["sha256"])
    assert any(e["event"] == "state_provided" and e["size"] == SIZES[size] for e in provider.events)
