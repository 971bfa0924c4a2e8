"""Who a learner is, as the course app vouches for it: a JWT its backend signs.

The course app knows its learners; the hub takes its word only when it is signed. Its
backend signs a short-lived token (HS256, `AFTERCLASS_LEARNER_SIGNING_SECRET`) for the
learner who opens the chat:

    sub     the learner's id (required)
    exp     when it expires (required; at most `learner_jwt_max_age_s` after `iat`)
    iat     when it was issued (required)
    aud     "afterclass" (`learner_jwt_audience`; required)
    name    the learner's display name (optional)
    locale  "zh" or "en" (optional): the language a new conversation starts in
    tz      an IANA time zone (optional)

The hub exchanges it for a session token of its own (POST /api/auth/learner {"token"}),
which ends when the JWT would have, so a leaked token is worth hours at most, never the
forever of an HMAC over the id alone. docs/integration.md has the course app's side.
"""

import time

import jwt
from pydantic import BaseModel

LEEWAY_S = 30  # clocks of two servers disagree a little


class InvalidLearnerToken(Exception):
    """The token is not one the course app signed for us, now."""


class LearnerClaims(BaseModel):
    id: str
    name: str = ""
    locale: str | None = None
    tz: str | None = None
    expires: float


def verify(token: str, secret: str, audience: str, max_age_s: int) -> LearnerClaims:
    """The learner a course-app token names; InvalidLearnerToken if it is not valid now."""
    if not secret:
        raise InvalidLearnerToken("learner sign-in is not set up (no signing secret)")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=audience,
            leeway=LEEWAY_S,
            options={"require": ["sub", "exp", "iat", "aud"]},
        )
    except jwt.PyJWTError as e:
        raise InvalidLearnerToken(f"invalid learner token: {e}") from e
    exp, iat = float(claims["exp"]), float(claims["iat"])
    if exp - iat > max_age_s + LEEWAY_S or exp - time.time() > max_age_s + LEEWAY_S:
        raise InvalidLearnerToken(f"learner tokens may live {max_age_s} s at most")
    sub = claims["sub"]
    if not isinstance(sub, str) or not 0 < len(sub) <= 64:
        raise InvalidLearnerToken("the token's sub must be a learner id (1-64 characters)")
    locale = claims.get("locale")
    return LearnerClaims(
        id=sub,
        name=str(claims.get("name") or "")[:100],
        locale=locale if locale in ("zh", "en") else None,
        tz=str(claims["tz"])[:64] if claims.get("tz") else None,
        expires=exp,
    )


def sign(
    secret: str, learner_id: str, ttl_s: int = 3600, audience: str = "afterclass", **claims: str
) -> str:
    """What the course app's backend does (docs/integration.md); used by the tests and the
    demo tools."""
    now = int(time.time())
    payload = {"sub": learner_id, "iat": now, "exp": now + ttl_s, "aud": audience, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")
