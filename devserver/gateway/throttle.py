"""The stage's request throttling: a token bucket with API Gateway's rate and burst semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens a second up to `burst`; each request takes one, an empty bucket means 429.

    for parity: API Gateway throttles with the token bucket algorithm, the burst being the bucket's size and
    the rate its refill per second; a request finding it empty gets 429 Too Many Requests
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
    The bucket starts full.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the throttle needs a positive rate and a burst of at least 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take one token; False when the bucket is empty (the request is throttled)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False
