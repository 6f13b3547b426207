"""The portal's REST API over httpx: bearer token, JSON, the API's one error body turned into ApiError."""

import httpx

from . import __version__


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "", field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.field = status, message, code, field


class Client:
    def __init__(self, server: str, token: str | None = None, *, timeout: float = 30.0, verify: bool | str = True):
        self.server = server.rstrip("/")
        headers = {"User-Agent": f"pim-cli/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=f"{self.server}/api/v1/", headers=headers, timeout=timeout,
                                 verify=verify, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, *, json=None, params=None, ok=(200, 201)) -> dict:
        try:
            response = self.http.request(method, path, json=json, params=params)
        except httpx.HTTPError as error:
            raise ApiError(0, f"Cannot reach {self.server}: {error}") from error
        if response.status_code in ok:
            return response.json() if response.content else {}
        raise _error(response)

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict) -> dict:
        return self.request("POST", path, json=body)

    def pages(self, path: str, **params):
        """Every item of a cursor-paginated list."""
        page = self.get(path, **params)
        while True:
            yield from page.get("results", [])
            following = page.get("next")
            if not following:
                return
            page = self.request("GET", following)


def _error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        return ApiError(response.status_code, f"HTTP {response.status_code} from the portal")
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return ApiError(response.status_code, str(error.get("message") or "Refused."), str(error.get("code") or ""),
                        error.get("field"))
    if isinstance(error, str):  # the device flow's RFC 8628 errors
        return ApiError(response.status_code, str(body.get("error_description") or error), error)
    if response.status_code == 401:
        return ApiError(401, "Not signed in, or the token expired or was revoked: run `pim login`.", "unauthenticated")
    return ApiError(response.status_code, f"HTTP {response.status_code} from the portal")
