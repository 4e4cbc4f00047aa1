"""Prove that Inkstone runs as several stateless replicas (GitHub issue 9).

    .venv/bin/python scripts/scale_check.py

Starts moto's S3 server with a bucket, a fresh database on the machine's PostgreSQL
(RESILIENCE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
and two production-like gunicorn instances, A and B, sharing the database, Redis
(RESILIENCE_REDIS_URL, default redis://127.0.0.1:6379/7), the bucket and the secret
key (a redis-server of its own when that one does not answer). Then, printing one PASS/FAIL line each:

1. two-instance: log in on A; warm B's home page; upload an image through A's
   editor endpoint and publish a post that shows it through A's admin form; B's
   home page shows the post within a second (not a stale cached page) and the image
   is fetchable from the S3 endpoint (and allowed by the page's Content-Security-
   Policy, or browsers would not show it); the same session edits the post on B, and A's
   article page shows the edit within a second.
2. redis-down: a third instance whose own redis-server is killed under load still
   answers every page from PostgreSQL, and logs at most one cache warning per
   worker per minute, not one per request.
3. storage-down: with moto stopped, an upload answers a clear 503 JSON error, and
   the post still saves through the admin form.

Talks to 127.0.0.1 only; exits 1 on any failure. Needs `moto[server]`.
"""

import argparse
import contextlib
import re
import secrets
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from resilience.harness import (  # noqa: E402
    REDIS_URL,
    Failed,
    Gunicorn,
    Load,
    MachineDatabase,
    MotoS3,
    RedisServer,
    StaffClient,
    create_superuser,
    ensure_static,
    fetch,
    manage,
    ms,
    outcomes,
    percentile,
    post_fields,
    production_env,
    redis_reachable,
    report,
    require,
    smooth_jpeg,
    time_budget,
    user_id,
    wait_for,
)

USERNAME = "scale-admin"
VISIBLE_WITHIN = 1.0
CACHE_WARNING = re.compile(r'"logger": "inkstone\.cache".*failed, serving without')


class Context:
    def __init__(self, env, a, b, moto, staff, author_id, password):
        self.env = env
        self.password = password
        self.a = a
        self.b = b
        self.moto = moto
        self.staff = staff
        self.author_id = author_id
        self.post_id: int | None = None
        self.fields: dict = {}
        self.path = ""


def wait_until_shown(
    port: int, path: str, text: str, since: float
) -> tuple[float, list]:
    """Poll an anonymous page until it contains text; (delay, results)."""
    results = []

    def shown() -> bool:
        result = fetch(port, path, keep_body=True, timeout=5)
        results.append(result)
        return result.status == 200 and text.encode() in result.body

    require(wait_for(shown, 5, 0.05), f"{path} on :{port} never showed {text!r}")
    return results[-1].ended - since, results


def two_instances(ctx: Context) -> bool:
    a, b, staff = ctx.a, ctx.b, ctx.staff
    anonymous = []

    started = time.monotonic()
    staff.login(a.base, USERNAME, ctx.password)
    login_time = time.monotonic() - started

    anonymous += [fetch(b.port, "/"), fetch(b.port, "/")]
    require(
        anonymous[-1].x_cache == "HIT",
        f"B's home page not cached: {anonymous[-1].x_cache}",
    )

    started = time.monotonic()
    upload = staff.upload(
        a.base, "scale check.jpg", smooth_jpeg(1600, 1000), "image/jpeg"
    )
    upload_time = time.monotonic() - started
    require(
        upload.status_code == 200,
        f"upload on A: {upload.status_code} {upload.text[:200]}",
    )
    image_code = upload.json()["image_code"]
    image_url = re.search(r"\]\((\S+)\)", image_code)[1]
    require(
        image_url.startswith(ctx.moto.endpoint + "/"),
        f"image URL {image_url} is not on the S3 endpoint",
    )

    token = secrets.token_hex(4)
    title = f"Published on A {token}"
    ctx.fields = post_fields(
        title, f"scale-{token}", ctx.author_id, f"Written on A.\n\n{image_code}\n"
    )
    # B reads the content version just before the save, so it would trust it now
    # if nothing told it of A's save.
    ctx.post_id = staff.save_post(
        a.base, ctx.fields, just_before=lambda: anonymous.append(fetch(b.port, "/"))
    )
    saved = time.monotonic()
    home_delay, home_polls = wait_until_shown(b.port, "/", title, saved)
    anonymous += home_polls
    first_poll = home_polls[0]
    require(
        home_delay <= VISIBLE_WITHIN and len(home_polls) == 1,
        f"B's home page showed the post after {ms(home_delay)} "
        f"({len(home_polls)} requests)",
    )

    ctx.path = f"/posts/scale-{token}/"
    article = fetch(b.port, ctx.path, keep_body=True)
    anonymous.append(article)
    require(
        article.status == 200 and image_url.encode() in article.body,
        f"B's article page lacks the image: {article.outcome}",
    )
    with urllib.request.urlopen(image_url, timeout=10) as response:
        image_status = response.status
        image_type = response.headers["Content-Type"]
        image_bytes = len(response.read())
        image_cache = response.headers.get("Cache-Control", "")
    require(
        image_status == 200 and image_type == "image/webp" and image_bytes > 0,
        f"image on S3: {image_status} {image_type} {image_bytes} bytes",
    )
    img_tag = re.search(
        rf'<img [^>]*src="{re.escape(image_url)}"[^>]*>', article.body.decode()
    )
    sized = bool(img_tag) and "width=" in img_tag[0] and "srcset=" in img_tag[0]
    csp = article.headers.get("content-security-policy", "")
    img_src = re.search(r"img-src ([^;]*)", csp)
    csp_allows_image = bool(img_src) and ctx.moto.endpoint in img_src[1]

    # The same cookie jar on B: the session lives in the shared database.
    edited = f"Edited on B {token}"
    ctx.fields = {**ctx.fields, "title": edited}
    staff.save_post(
        b.base,
        ctx.fields,
        ctx.post_id,
        just_before=lambda: anonymous.append(fetch(a.port, ctx.path)),
    )
    saved = time.monotonic()
    edit_delay, edit_polls = wait_until_shown(a.port, ctx.path, edited, saved)
    anonymous += edit_polls
    require(
        edit_delay <= VISIBLE_WITHIN and len(edit_polls) == 1,
        f"A showed B's edit after {ms(edit_delay)} ({len(edit_polls)} requests)",
    )

    sent = sum(staff.statuses.values()) + len(anonymous) + 1
    return report(
        csp_allows_image,
        "scale two-instance",
        f"{sent} requests (staff {dict(staff.statuses)}, anonymous "
        f"{outcomes(anonymous)}); login on A {ms(login_time)}; upload on A "
        f"{ms(upload_time)} -> {image_url.removeprefix(ctx.moto.endpoint)}; "
        f"new post on B's home page {ms(home_delay)} after the save "
        f"(first poll X-Cache {first_poll.x_cache or '-'}, {len(home_polls)} polls); "
        f"image {image_status} "
        f"{image_type} {image_bytes} B '{image_cache}'; edit on B (same session) "
        f"on A's article {ms(edit_delay)} after the save ({len(edit_polls)} polls); "
        f"the <img> has width/height/srcset: {'yes' if sized else 'NO'}; "
        + (
            "CSP img-src allows the S3 origin"
            if csp_allows_image
            else f"but the page's CSP img-src ({img_src[1] if img_src else 'unset'}) "
            f"does not allow {ctx.moto.endpoint}: browsers would block the image"
        ),
    )


def redis_down(ctx: Context) -> bool:
    duration = 10.0
    with (
        RedisServer() as redis,
        Gunicorn("C", {**ctx.env, "CACHE_URL": redis.url}) as c,
    ):
        warm = [fetch(c.port, "/"), fetch(c.port, "/")]
        require(warm[-1].x_cache == "HIT", f"C did not cache through its Redis: {warm}")
        redis.stop()
        paths = ["/", ctx.path, "/tags/", "/search/?q=cb{}"]
        with Load(c.port, lambda n: paths[n % 4].format(n), rate=40, threads=8) as load:
            time.sleep(duration)
        results = load.results
        ready = fetch(c.port, "/readyz")
        warnings = len(CACHE_WARNING.findall(c.log_text()))
        workers = len(c.workers())
    latencies = [r.latency for r in results]
    errors = [r for r in results if r.status != 200]
    slowest = max(latencies, default=0)
    allowed = workers  # one a worker process a minute; the run is under a minute
    ok = not errors and warnings <= allowed and ready.status == 200
    return report(
        ok,
        "scale redis-down",
        f"{len(results)} requests in {duration:.0f} s after killing Redis: "
        f"{outcomes(results)}; p50 "
        f"{ms(percentile(latencies, 0.5))}, p99 {ms(percentile(latencies, 0.99))}, "
        f"max {ms(slowest)}; cache warnings logged: {warnings} (allowed {allowed}: "
        f"one per worker per minute); /readyz {ready.outcome}",
    )


def storage_down(ctx: Context) -> bool:
    require(ctx.post_id is not None, "no post from the two-instance step")
    ctx.moto.stop()
    started = time.monotonic()
    upload = ctx.staff.upload(
        ctx.a.base, "while down.jpg", smooth_jpeg(800, 600), "image/jpeg", timeout=90
    )
    upload_time = time.monotonic() - started
    try:
        message = upload.json().get("error", "")
    except ValueError:
        message = ""
    text = f"Saved while object storage is down {secrets.token_hex(3)}"
    ctx.fields = {**ctx.fields, "body": ctx.fields["body"] + f"\n{text}\n"}
    saved_ok = True
    try:
        ctx.staff.save_post(ctx.a.base, ctx.fields, ctx.post_id)
        article = fetch(ctx.a.port, ctx.path, keep_body=True)
        saved_ok = article.status == 200 and text.encode() in article.body
    except Failed as error:
        saved_ok, article = False, error
    ok = upload.status_code == 503 and bool(message) and saved_ok
    return report(
        ok,
        "scale storage-down",
        f"upload with S3 stopped: {upload.status_code} in {ms(upload_time)}, "
        f"JSON error {message!r}; admin save of the post afterwards: "
        f"{'saved and shown' if saved_ok else f'FAILED ({article})'}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=300, help="seconds, all in")
    args = parser.parse_args()
    time_budget(args.budget)
    results = []
    try:
        ensure_static()
        with contextlib.ExitStack() as stack:
            shared_redis = (
                REDIS_URL
                if redis_reachable()
                else stack.enter_context(RedisServer()).url
            )
            moto = stack.enter_context(MotoS3())
            database = stack.enter_context(MachineDatabase("inkstone_scale"))
            env = production_env(database.url, CACHE_URL=shared_redis, **moto.env())
            manage(env, "migrate", "--noinput", "-v", "0")
            password = secrets.token_urlsafe(16)
            create_superuser(env, USERNAME, password)
            author_id = user_id(env, USERNAME)
            a = stack.enter_context(Gunicorn("A", env))
            b = stack.enter_context(Gunicorn("B", env))
            ctx = Context(env, a, b, moto, StaffClient(), author_id, password)
            for step in (two_instances, redis_down, storage_down):
                name = step.__name__.replace("_", "-")
                try:
                    results.append(step(ctx))
                except Failed as error:
                    results.append(report(False, f"scale {name}", str(error)))
                except Exception as error:  # an unexpected answer is a failure too
                    results.append(report(False, f"scale {name}", repr(error)))
    except Failed as error:
        results.append(report(False, "scale check", str(error)))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
