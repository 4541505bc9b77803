"""A send service asks before each message: may this business number text this end user?

    python examples/send_service_check.py http://127.0.0.1:6066 +12125550100 +14155550100

Prints "send" or "do not send: <why>"; exits 0 either way, 1 when no answer can be had (then
do not send either: a send after an opt-out costs $500 to $1,500).
"""

import json
import sys
import urllib.parse
import urllib.request


def may_send(web_url: str, business_number: str, end_user: str) -> tuple[bool, dict]:
    path = "/v1/blocklist/{}/{}".format(*map(urllib.parse.quote, (business_number, end_user)))
    with urllib.request.urlopen(web_url + path, timeout=5) as response:
        answer = json.loads(response.read())
    return not answer["blocked"], answer


if __name__ == "__main__":
    try:
        allowed, answer = may_send(*sys.argv[1:4])
    except OSError as exc:
        print(f"no answer ({exc}): do not send")
        sys.exit(1)
    why = f"{answer['source']} {answer['keyword'] or answer['reason']} at {answer['since']}"
    print("send" if allowed else f"do not send: {why}")
