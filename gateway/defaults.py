"""Named defaults, each with its unit. Config keys of the same name override them."""

KEY_PREFIX = "leadgate"                # every Redis key starts with this
QUEUE_NAME = "leadgate"                # the RQ queue flush jobs go through

ADMIN_TOKEN_MIN_CHARS = 32             # server.admin_token, when set
CHOSEN_SECRET_MIN_CHARS = 16           # route secrets the user picks (URL tokens, HMAC keys...)
SHOPIFY_NEW_CUSTOMER_S = 86_400        # a customer made this long before their order: returning, s
HUBSPOT_TOLERANCE_S = 300              # X-HubSpot-Request-Timestamp's window, both ways, seconds
TIMESTAMP_MAX_DIGITS = 16              # a signed timestamp header longer than this is a 401, digits
MAILGUN_TOLERANCE_S = 300              # Mailgun's signed timestamp may be this far off, seconds
EMAIL_TEXT_MAX_CHARS = 4000            # an email's text (body-plain...) a lead keeps, characters
EMAIL_FIELD_MAX_CHARS = 500            # any other email field a lead keeps, characters

MAX_BODY_KB = 1024                     # request bodies above this get 413
DEDUP_TTL_DAYS = 7                     # how long an event key (and its record) is kept once done
RECORD_RETENTION_HOURS = 72            # a terminal lead's full record; then its tombstone
COMPACT_BATCH = 50                     # leads compacted per Redis call (a few ms of Redis)
COMPACT_TICK_S = 30.0                  # how often a worker compacts the leads that are due
DEFAULT_REGION = "US"                  # phones without a country code are read in this region

# Reading nested JSON as dotted paths ('data.contact.email') is bounded per delivery, so that no
# body costs more memory than a small multiple of its size; beyond a limit the answer is 400/413.
FLATTEN_MAX_DEPTH = 10                 # levels of objects (and lists of objects); deeper: 400
FLATTEN_MAX_KEY_CHARS = 256            # characters in one field name; longer: 400
FLATTEN_MAX_PATHS = 10_000             # dotted paths in one delivery; more: 413
FLATTEN_PATH_CHARS_PER_BYTE = 4        # characters of all dotted paths per byte of body; more: 413
FLATTEN_MIN_PATH_CHARS = 65_536        # ...but small bodies may always have this many
FLATTEN_MAX_LIST_OBJECTS = 100         # objects of one list read as paths; the rest are dropped

MEGA_BASE_URL = "https://app.gomega.ai"
MEGA_TIMEOUT_S = 15.0                  # overall deadline of one MEGA or Graph call, seconds
CONNECT_TIMEOUT_S = 5.0                # longest wait for a connection to MEGA or Graph, seconds
POOL_TIMEOUT_S = 1.0                   # longest wait for a free pooled connection, seconds
MAX_ANSWER_BYTES = 8 * 1024 * 1024     # largest decoded MEGA or Graph answer read, bytes
MAX_AGE_HOURS = 24.0                   # a lead failing transiently for longer becomes a dead letter
KEY_RETENTION_HOURS = 24.0             # how long MEGA is assumed to remember an idempotency key

MAX_BATCH = 500                        # leads per bulk call (MEGA's cap)
LINGER_MS = 500                        # how long a flush waits for a batch to fill, milliseconds

LEASE_MARGIN_S = 5.0                   # a lease outlasts the longest outside call by this much
RETRY_AFTER_NO_ANSWER_S = 1.0          # the least wait before resending a request left unanswered
FLUSH_BUDGET_S = 20.0                  # a flush job hands its customer back after this long
DISPATCH_INTERVAL_S = 0.05             # how often each worker looks for due customers
DISPATCH_CLAIM_LIMIT = 20              # customers claimed per look
UNKNOWN_CUSTOMER_RETRY_S = 300         # leads of a customer the config lost: looked at again

BACKOFF_BASE_S = 1.0                   # first retry waits up to this long (full jitter)
BACKOFF_CAP_S = 300.0                  # no retry waits longer than this
CREDENTIALS_RETRY_S = 60.0             # a customer whose token MEGA refuses is retried this often

REDIS_SOCKET_TIMEOUT_S = 2.0           # intake answers 503 rather than wait longer for Redis
STORE_FULL_RETRY_AFTER_S = 30          # Retry-After of the 503 when Redis is at maxmemory, s
NOT_ACKNOWLEDGED_RETRY_AFTER_S = 5     # Retry-After of the 503 when server.ack's wait fell short
ACK = "memory"                         # server.ack: memory | fsync (WAITAOF) | replica (WAIT)
ACK_TIMEOUT_MS = 1000                  # server.ack's longest wait for the fsync or replica, ms
ACK_MIN_VERSION = {"fsync": (7, 2), "replica": (3, 0)}   # server versions with WAITAOF / WAIT
MEMORY_RESERVE_PERCENT = 2             # the intake refuses new events (503) this close to the
MEMORY_RESERVE_MIN_MB = 2              # ...memory limit, or this close, whichever is more: room
MEMORY_CHECK_S = 1.0                   # ...left for workers to deliver; looked at this often, s
MEMORY_ALERT_PERCENT = (80, 95)        # used/max memory that fires the redis_memory alert...
MEMORY_RESOLVED_PERCENT = 70           # ...and that resolves it, once below

METRICS_WINDOWS = ((300, 3900), (3600, 90_000))  # (bucket, kept) seconds: last hour, last 24 h
ATTEMPT_LOG_SIZE = 20                  # MEGA calls kept on an event's timeline

CONSOLE_SESSION_S = 8 * 3600           # a console sign-in lasts this long, seconds
CONSOLE_REFRESH_S = 5                  # the overview refreshes itself this often, seconds
FAVICON_MAX_AGE_S = 86_400             # browsers may keep /favicon.ico this long, seconds
CONSOLE_PAGE_SIZE = 50                 # events per page
CONSOLE_SCAN_LIMIT = 5000              # events examined per page at most when filtering
CONTACT_DAY_LIMIT = 1000               # events a contact is found by per day; later ones that
                                       # day are left out of the contact search (and counted)
CONTACT_READ_CHUNK = 200               # event ids a contact search reads per Redis call
SIGNIN_MAX_FAILURES = 10               # failed sign-ins per client address per window...
SIGNIN_WINDOW_S = 900                  # ...of this many seconds, then 429 until it ends
TRUSTED_PROXIES = 0                    # proxy hops whose X-Forwarded-* headers are believed
TRUSTED_PROXIES_MAX = 10               # more hops than any real deployment has
DEV_READY_TIMEOUT_S = 60.0             # `leadgate dev` gives up if web or megasim is not up by then
RECONCILE_EVERY_MIN = 15               # how often a Meta route's forms are listed, minutes (0: off)
RECONCILE_GRACE_S = 300                # a lead younger than this is left to its webhook, seconds
RECONCILE_OVERLAP_S = 900              # each listing reaches this far behind the watermark
RECONCILE_PAGE_SIZE = 50               # leads per Graph listing page (kept small on purpose)
RECONCILE_FORM_LEADS_PER_S = 1.0       # the most leads one form is taken to get, per second
RECONCILE_PAGES_FACTOR = 2             # pages a listing may take, times those its window holds
RECONCILE_MIN_PAGES = 10               # ... and never fewer than this many pages
RECONCILE_LOCK_S = 120.0               # a route's reconciliation lock, renewed before each page
RECONCILE_BACKOFF_S = 60.0             # first wait after a failed reconciliation; doubles
RECONCILE_BACKOFF_CAP_S = 3600.0       # longest wait between failed reconciliations
RECONCILE_TICK_S = 5.0                 # how often a worker looks for routes due a reconciliation
HEALTH_EVERY_S = 3600.0                # how often each Meta route's connection is checked
TOKEN_WARN_DAYS = 7                    # a token expiring sooner than this is a warning

ALERT_STALE_AFTER_MIN = 15             # a pending lead older than this raises an alert, minutes
ALERT_TIMEOUT_S = 5.0                  # one alert POST's timeout, seconds
ALERT_EVAL_S = 10.0                    # how often a worker compares states to alerted ones
ALERT_POLL_S = 1.0                     # how often a worker looks for alerts to send
ALERT_BACKOFF_CAP_S = 600.0            # longest wait between retries of one alert
ALERT_MAX_AGE_S = 86_400.0             # an alert unsent after this long is dropped (logged)
DEAD_LETTER_WINDOW_S = 3600.0          # a customer's dead letters alert once per this window
IMPORT_CHUNK_ROWS = 500                # CSV rows read, checked and stored per Redis round trip
IMPORT_SNIFF_CHARS = 16_384            # characters read to detect a CSV file's delimiter
IMPORT_POLL_S = 0.5                    # how often a waiting import looks at its rows' progress
IMPORT_STALL_S = 30.0                  # a waiting import says so when no row finished this long
IMPORT_ERRORS_SHOWN = 100              # failed rows listed in an import's report
IMPORT_MAX_UPLOAD_MB = 16              # largest CSV accepted by POST /v1/imports, megabytes
IMPORT_MAX_ROWS = 200_000              # most rows one import (or dry run) may have
IMPORT_ERRORS_KEPT = 1_000             # failed rows an import keeps (reasons, failed-rows CSV)
IMPORT_PREVIEW_ROWS_SHOWN = 100        # rows of MEGA's preview an API dry run's report lists
IMPORT_PREVIEW_TTL_S = 86_400          # an API dry run's report is kept this long, seconds
IMPORT_WEB_RUNNERS = 1                 # uploads one web process reads at a time (then 503)
IMPORT_API_MAX_WAIT_S = 10.0           # a dry run over the API waits no longer for MEGA's limit
IMPORT_PREVIEW_RETRIES = 4             # a dry run's MEGA call retried this often on 5xx/timeouts
IMPORT_HEARTBEAT_S = 10.0              # how often a reading upload notes that it is alive, seconds
IMPORT_HEARTBEAT_STALE_S = 60.0        # a report still reading with no note this long has failed
GOOGLE_ADS_API_URL = "https://googleads.googleapis.com/v21"    # google_lead_forms.ads_api_url
GOOGLE_OAUTH_TOKEN_URL = "https://oauth2.googleapis.com/token"  # google_lead_forms.oauth_token_url
GOOGLE_RETENTION_DAYS = 30             # submissions the Ads API is relied on to keep, days
GOOGLE_MATCH_WINDOW_S = 300            # a listed and a webhook lead this close in time may match
GOOGLE_MAX_PAGES = 1_000               # googleAds:search pages followed per listing at most
GOOGLE_TOKEN_EARLY_S = 60.0            # an access token is refreshed this long before it expires
GOOGLE_MATCH_KEEP_DAYS = 31            # webhook leads stay findable by reconciliation this long
GOOGLE_MATCH_SCAN_LIMIT = 1000         # stored webhook leads read around one submission at most
