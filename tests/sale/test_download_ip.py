"""The download log keeps the buyer's IP keyed with a server secret: no one holding the log
can reverse it by hashing every IPv4 address, yet the seller still sees repeats from one
address."""

from __future__ import annotations

import hashlib
import json

from chalicelib import store
from chalicelib.sale.download_ip import IpMarker, ip_key, ip_mark
from chalicelib.sale.download_log import DownloadEntry, download_log
from tests.helpers import TEST_ENV, only_link

IP = "203.0.113.77"


def _take(paid_token: str, ip: str) -> None:
    store.current().links.take(paid_token, ip=ip, user_agent="pytest-buyer")


def test_the_logged_ip_is_not_a_bare_hash_anyone_could_reverse(client, paid_token):
    _take(paid_token, IP)
    (entry,) = download_log(only_link())
    bare = hashlib.sha256(IP.encode()).hexdigest()
    assert entry.ip_hash and entry.ip_hash not in bare
    assert IP not in json.dumps(sorted(only_link().log))
    assert entry.ip_hash == ip_mark(ip_key(TEST_ENV["LINK_SIGNING_KEY"]), IP)


def test_the_same_ip_gives_the_same_mark_so_the_seller_sees_repeats(client, paid_token):
    for ip in (IP, IP, "198.51.100.5"):
        _take(paid_token, ip)
    marks = [entry.ip_hash for entry in download_log(only_link())]
    assert len(marks) == 3 and len(set(marks)) == 2


def test_another_stores_secret_gives_other_marks():
    ours = IpMarker(lambda: TEST_ENV["LINK_SIGNING_KEY"])
    theirs = IpMarker(lambda: "another-store's-link-signing-key")
    assert ours(IP) != theirs(IP)
    assert ours(IP) == ours(IP)


def test_no_ip_reads_no_secret_and_logs_none():
    def no_secret() -> str:
        raise AssertionError("the secret was read")

    assert IpMarker(no_secret)("") == ""


def test_entries_logged_with_the_old_bare_hash_still_read():
    old = json.dumps({"at": "2026-01-02T03:04:05+00:00", "ip_hash": "0123456789abcdef"})
    entry = DownloadEntry.from_json(old)
    assert entry.ip_hash == "0123456789abcdef" and entry.at.year == 2026
