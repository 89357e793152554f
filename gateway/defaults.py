"""Named defaults, each with its unit. Config keys of the same name override them."""

KEY_PREFIX = "leadgate"                # every Redis key starts with this
QUEUE_NAME = "leadgate"                # the RQ queue flush jobs go through

MAX_BODY_KB = 1024                     # request bodies above this get 413
DEDUP_TTL_DAYS = 7                     # how long an event key (and its record) is kept once done
DEFAULT_REGION = "US"                  # phones without a country code are read in this region

MEGA_BASE_URL = "https://app.gomega.ai"
MEGA_TIMEOUT_S = 15.0                  # overall deadline of one MEGA or Graph call, seconds
CONNECT_TIMEOUT_S = 5.0                # longest wait for a connection to MEGA or Graph, seconds
POOL_TIMEOUT_S = 1.0                   # longest wait for a free pooled connection, seconds
MAX_AGE_HOURS = 24.0                   # a lead failing transiently for longer becomes a dead letter
KEY_RETENTION_HOURS = 24.0             # how long MEGA is assumed to remember an idempotency key

MAX_BATCH = 500                        # leads per bulk call (MEGA's cap)
LINGER_MS = 500                        # how long a flush waits for a batch to fill, milliseconds

LEASE_MARGIN_S = 5.0                   # a lease outlasts the longest outside call by this much
RETRY_AFTER_NO_ANSWER_S = 1.0          # the least wait before resending a request left unanswered
FLUSH_BUDGET_S = 20.0                  # a flush job hands its customer back after this long
DISPATCH_INTERVAL_S = 0.05             # how often each worker looks for due customers
DISPATCH_CLAIM_LIMIT = 20              # customers claimed per look

BACKOFF_BASE_S = 1.0                   # first retry waits up to this long (full jitter)
BACKOFF_CAP_S = 300.0                  # no retry waits longer than this
CREDENTIALS_RETRY_S = 60.0             # a customer whose token MEGA refuses is retried this often

REDIS_SOCKET_TIMEOUT_S = 2.0           # intake answers 503 rather than wait longer for Redis

METRICS_WINDOWS = ((300, 3900), (3600, 90_000))  # (bucket, kept) seconds: last hour, last 24 h
ATTEMPT_LOG_SIZE = 20                  # MEGA calls kept on an event's timeline

CONSOLE_SESSION_S = 8 * 3600           # a console sign-in lasts this long, seconds
CONSOLE_REFRESH_S = 5                  # the overview refreshes itself this often, seconds
CONSOLE_PAGE_SIZE = 50                 # events per page
CONSOLE_SCAN_LIMIT = 5000              # events examined per page at most when filtering
SIGNIN_MAX_FAILURES = 10               # failed sign-ins per client address per window...
SIGNIN_WINDOW_S = 900                  # ...of this many seconds, then 429 until it ends
DEV_READY_TIMEOUT_S = 60.0             # `leadgate dev` gives up if web or megasim is not up by then
