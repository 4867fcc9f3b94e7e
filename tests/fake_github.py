"""A local HTTP server that plays the GitHub REST endpoints the bot uses.

It holds one repository with one pull request: its head sha, changed files,
unified diff, review comments and reviews. Creating a review checks what
GitHub checks (the token, the commit, every comment on a line of the diff,
start_line before line in the same hunk) and answers 422 otherwise; a test
can also force 422 for chosen lines. Posted reviews and their comments are
kept and returned by later GETs, as on GitHub.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import unidiff


class FakeGitHub:
    def __init__(self, repo: str, number: int, head_sha: str, diff: str, token: str):
        self.repo, self.number, self.head_sha, self.diff, self.token = repo, number, head_sha, diff, token
        self.review_comments: list[dict] = []
        self.reviews: list[dict] = []
        self.posted_payloads: list[dict] = []  # every POST body, accepted or not
        self.refuse_lines: set[tuple[str, int]] = set()  # (path, line) to answer 422 for
        self.requests: list[tuple[str, str]] = []
        self.page_size = 2  # small pages, so pagination is exercised
        self.hunks = {
            (f.target_file[2:]): [range(h.target_start, h.target_start + h.target_length) for h in f]
            for f in unidiff.PatchSet(diff)
        }
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(handler.path)
        self.requests.append((method, url.path))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(handler, 401, {"message": "Bad credentials"})
        base = f"/repos/{self.repo}/pulls/{self.number}"
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        if method == "GET" and url.path == base:
            if handler.headers.get("Accept") == "application/vnd.github.diff":
                return self._send_text(handler, self.diff)
            return self._send(handler, 200, {"number": self.number, "head": {"sha": self.head_sha}})
        if method == "GET" and url.path == base + "/files":
            files = [{"filename": path, "status": "modified"} for path in self.hunks]
            return self._paged(handler, url.path, files, page)
        if method == "GET" and url.path == base + "/comments":
            return self._paged(handler, url.path, self.review_comments, page)
        if method == "GET" and url.path == base + "/reviews":
            return self._paged(handler, url.path, self.reviews, page)
        if method == "POST" and url.path == base + "/reviews":
            length = int(handler.headers.get("Content-Length", 0))
            payload = json.loads(handler.rfile.read(length))
            self.posted_payloads.append(payload)
            problem = self._review_problem(payload)
            if problem:
                return self._send(handler, 422, {"message": "Unprocessable Entity", "errors": [problem]})
            review = {"id": len(self.reviews) + 1, "body": payload.get("body", ""), "commit_id": payload["commit_id"]}
            self.reviews.append(review)
            for comment in payload.get("comments", []):
                self.review_comments.append({**comment, "id": len(self.review_comments) + 1,
                                             "pull_request_review_id": review["id"]})
            return self._send(handler, 200, review)
        self._send(handler, 404, {"message": "Not Found"})

    def _review_problem(self, payload: dict) -> str | None:
        if payload.get("commit_id") != self.head_sha:
            return "commit_id is not part of the pull request"
        for comment in payload.get("comments", []):
            path, line = comment.get("path"), comment.get("line")
            start = comment.get("start_line", line)
            if (path, line) in self.refuse_lines:
                return "Line could not be resolved"
            if comment.get("side", "RIGHT") != "RIGHT" or start > line:
                return "Invalid side or start_line"
            if not any(start in hunk and line in hunk for hunk in self.hunks.get(path, [])):
                return "pull_request_review_thread.line must be part of the diff"
        return None

    def _paged(self, handler, path: str, items: list, page: int) -> None:
        size = self.page_size
        chunk = items[(page - 1) * size : page * size]
        links = None
        if page * size < len(items):
            links = f'<{self.url}{path}?per_page=100&page={page + 1}>; rel="next"'
        self._send(handler, 200, chunk, links)

    @staticmethod
    def _send(handler, status: int, payload, link: str | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        if link:
            handler.send_header("Link", link)
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _send_text(handler, text: str) -> None:
        data = text.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
