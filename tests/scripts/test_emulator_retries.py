"""The emulator answers an SDK retry once (scripts/emulator_server.py `RetriesAnswerOnce`): a retried
create on a busy machine must not run twice and fail with "already exists"."""

from __future__ import annotations

import threading
import time

from mlops_blueprint.scripts.emulator_server import RetriesAnswerOnce


class CountingApp:
    """A stand-in WSGI app: counts runs; its answer names the run; optionally slow or failing."""

    def __init__(self, status: str = "200 OK", delay: float = 0.0):
        self.runs, self.status, self.delay = 0, status, delay

    def __call__(self, environ, start_response):
        self.runs += 1
        run = self.runs
        time.sleep(self.delay)
        start_response(self.status, [("Content-Type", "text/xml")])
        return [f"<run>{run}</run>".encode()]


def call(app, method="POST", invocation="inv-1", attempt=1):
    environ = {"REQUEST_METHOD": method}
    if invocation:
        environ["HTTP_AMZ_SDK_INVOCATION_ID"] = invocation
        environ["HTTP_AMZ_SDK_REQUEST"] = f"attempt={attempt}; max=3"
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"] = status
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return got["status"], body


def test_a_retry_gets_the_first_answer_and_the_operation_runs_once():
    inner = CountingApp()
    app = RetriesAnswerOnce(inner)
    assert call(app, attempt=1) == ("200 OK", b"<run>1</run>")
    assert call(app, attempt=2) == ("200 OK", b"<run>1</run>")
    assert inner.runs == 1
    assert call(app, invocation="inv-2") == ("200 OK", b"<run>2</run>")  # another operation runs
    assert call(app, invocation=None) == ("200 OK", b"<run>3</run>")  # no SDK header: always runs
    assert call(app, method="GET") == ("200 OK", b"<run>4</run>")  # reads always run


def test_a_retry_while_the_first_attempt_still_runs_waits_for_its_answer():
    inner = CountingApp(delay=0.5)
    app = RetriesAnswerOnce(inner)
    first: list = []
    t = threading.Thread(target=lambda: first.append(call(app, attempt=1)))
    t.start()
    time.sleep(0.1)  # the client gave up; its retry arrives while the emulator is still at work
    assert call(app, attempt=2) == ("200 OK", b"<run>1</run>")
    t.join()
    assert first == [("200 OK", b"<run>1</run>")] and inner.runs == 1


def test_a_server_error_is_not_kept_so_its_retry_runs_again():
    inner = CountingApp(status="500 Internal Server Error")
    app = RetriesAnswerOnce(inner)
    call(app, attempt=1)
    assert call(app, attempt=2) == ("500 Internal Server Error", b"<run>2</run>")
    assert inner.runs == 2


def test_the_memory_of_answers_is_bounded():
    app = RetriesAnswerOnce(CountingApp(), keep=3)
    for i in range(10):
        call(app, invocation=f"inv-{i}")
    assert list(app.answers) == ["inv-7", "inv-8", "inv-9"]


def test_the_running_emulator_answers_a_retried_create_subnet_once(aws):
    """On the real server: the second attempt of one CreateSubnet (same invocation id) returns the first
    subnet instead of failing with InvalidSubnet.Conflict, and only one subnet exists."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    attempt = {"n": 1}

    def same_operation(request, **_):
        request.headers["amz-sdk-invocation-id"] = "retried-create-subnet"
        request.headers["amz-sdk-request"] = f"attempt={attempt['n']}; max=3"

    ec2.meta.events.register("before-send.ec2.CreateSubnet", same_operation)
    first = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.16.0/20")["Subnet"]["SubnetId"]
    attempt["n"] = 2
    again = ec2.create_subnet(VpcId=vpc, CidrBlock="10.41.16.0/20")["Subnet"]["SubnetId"]
    assert again == first
    assert len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]) == 1
