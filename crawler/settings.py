"""Scrapy settings for newsarchive: every setting is declared here, and only here.

Our own settings are prefixed by feature (``ARCHIVE_``, ``EXTRACT_``, ``DISCOVERY_``, ``BACKOFF_``,
``RENDER_``, ``RECRAWL_``, ``NEWSARCHIVE_``); docs/settings.md documents each one in a single table (a test keeps
the two in step). Read them only through Scrapy's ``Settings``, built by
``crawler.run.crawl_process.build_settings``, never from this module.

Five defaults belong to sources-file keys and are read from their FieldSpecs (crawler.sources.config),
so each is declared once: ``ARCHIVE_DB`` is ``[archive] db``'s default; ``DOWNLOAD_DELAY``,
``CONCURRENT_REQUESTS_PER_DOMAIN``, ``ROBOTSTXT_OBEY`` and ``NEWSARCHIVE_MAX_PAGES`` are those of the
source keys ``download_delay``, ``concurrency``, ``obey_robots`` and ``max_pages``, which the spider sets per source at spider
priority (``-s`` on the command line still wins). Imported names are lower-case: Scrapy takes every
upper-case name of this module for a setting.
"""

from crawler.sources.config import DEFAULT_ARCHIVE_DB as _default_archive_db
from crawler.sources.config import source_default as _source_default

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# An honest user agent: who we are and where to read about us or complain.
NEWSARCHIVE_CONTACT_URL = "https://github.com/newsarchive/newsarchive"
USER_AGENT = f"newsarchive/0.1 (+{NEWSARCHIVE_CONTACT_URL}; research news archive crawler)"
NEWSARCHIVE_SOURCES = "sources.toml"  # sources file for `scrapy crawl news -a source=NAME`

# Politeness.
ROBOTSTXT_OBEY = _source_default("obey_robots")
DOWNLOAD_DELAY = _source_default("download_delay")  # seconds between requests to one host
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = _source_default("concurrency")
NEWSARCHIVE_MAX_PAGES = _source_default("max_pages")  # pages sent per crawl, a hard limit (0: none)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY  # per source: its download_delay (at least 0.1)
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = float(CONCURRENT_REQUESTS_PER_DOMAIN)  # per source: its concurrency
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False

NEWSARCHIVE_MAX_CRAWL_DELAY = 30.0  # robots.txt Crawl-delay is honoured up to this many seconds (0: ignored)

# Retries: 5xx, 408, 429; BackoffRetryMiddleware waits Retry-After (or an exponential backoff) first.
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
BACKOFF_BASE_DELAY = 1.0  # seconds; doubled on each retry of one request
BACKOFF_MAX_DELAY = 120.0  # never wait longer than this for one retry, whatever Retry-After says

# The network boundary (crawler.network): every request stays on its source's hosts and ports and off
# private addresses; names resolve once per crawl (pinned), NETWORK_HOSTS first.
TWISTED_DNS_RESOLVER = "crawler.network.resolver.PinnedResolver"
NETWORK_HOSTS: dict[str, str] = {}  # name -> IPv4 address, answered before DNS (like /etc/hosts)
NETWORK_IDLE_TIMEOUT = 15.0  # seconds a response body may stop arriving before it is cut off (0: never)

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.network_boundary.NetworkBoundaryMiddleware": 50,  # before robots.txt is asked
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.robots_txt.ObeyRobotsTxtMiddleware": 100,  # says "forbidden" with an exception type
    "crawler.middlewares.max_pages.MaxPagesMiddleware": 110,  # NEWSARCHIVE_MAX_PAGES: pages past it are not sent
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.backoff_retry.BackoffRetryMiddleware": 550,
    "crawler.middlewares.conditional_requests.ConditionalRequestsMiddleware": 560,  # If-None-Match, 304s
    "crawler.middlewares.render_pages.RenderPagesMiddleware": 950,
    "crawler.middlewares.warc_records.WarcRecordsMiddleware": 990,  # WARC records of every answer, as received
}

# Discovery: how far link following may wander.
DISCOVERY_MAX_DEPTH = 6  # link hops from a start URL; pagination links do not count
DISCOVERY_PATTERN_BUDGET = 200  # non-article pages per URL pattern (digits folded): bounds calendars, query variants
DISCOVERY_SITEMAP_MAX_DEPTH = 4  # nested sitemap indexes followed
DISCOVERY_MAX_LINKS_PER_PAGE = 5000  # links taken from one page (a real page has far fewer; 0: no cap)
DISCOVERY_MAX_PENDING = 20_000  # requests waiting per crawl; more URLs wait in the archive's frontier (0: no cap)
# Hostile or broken feeds and sitemaps (crawler.discovery.feeds, .sitemaps; the readers' defaults are the same).
DISCOVERY_SITEMAP_MAX_BYTES = 50 * 1024 * 1024  # a sitemap inflating (gzip) or holding more is refused
DISCOVERY_SITEMAP_MAX_ENTRIES = 50_000  # entries read from one sitemap (the protocol's own limit)
DISCOVERY_SITEMAP_MAX_TAGS = 2_000_000  # markup tags one sitemap may hold (bounds its parse time)
DISCOVERY_FEED_MAX_NESTING = 64  # deepest JSON Feed nesting read
DISCOVERY_FEED_MAX_TAGS = 50_000  # markup tags one RSS/Atom feed may hold (bounds feedparser's time)

# Recurring crawls: fetch only what is new, signalled or due (crawler.discovery.recrawl; the revisit
# policy itself is per source: revisit, revisit_max_age, revisit_budget in the sources file).
RECRAWL_ENABLED = True  # False: every run fetches everything again, unconditionally, and keeps no frontier

# Extraction: a process pool keeps trafilatura off the reactor thread.
EXTRACT_WORKERS = 0  # 0: one worker per core
EXTRACT_MIN_TEXT_CHARS = 200  # shorter article text is "no article text"; also the app-shell threshold

# Site boilerplate: template lines learned per source (crawler.extraction.boilerplate) and removed.
BOILERPLATE_ENABLED = True  # False: article text is stored as extracted
BOILERPLATE_MIN_PAGES = 10  # distinct articles of a source seen before any line is removed
BOILERPLATE_MIN_SHARE = 0.15  # a line on at least this share of the source's recent articles is boilerplate
BOILERPLATE_SAVE_EVERY = 10  # counts saved to the archive every this many articles seen: a killed run's survive

# Browser rendering (scrapy-playwright, system Chromium), only for the requests that need it.
NEWSARCHIVE_BROWSER = None  # path of a Chromium/Chrome executable; None: NEWSARCHIVE_BROWSER env, then PATH
RENDER_PAGE_TIMEOUT = 30  # seconds for a page to load in the browser
RENDER_MAX_PAGES = 4  # browser pages open at once
RENDER_CONTEXT_PAGES = 100  # pages per browser context before it is closed and a fresh one used
RENDER_WAIT_MS = 1500  # longest wait after load for the text to appear (ends once it is there)
RENDER_LEARN_SHARE = 0.5  # auto: go browser-first after a run where this share of articles needed it (0: never)
RENDER_LEARN_MIN = 5  # … and at least this many pages needed it
RENDER_TEMPLATE_SHARE = 0.9  # auto, within a run: a page template whose plain fetches were this share of shells goes browser-first (0: never)
RENDER_REPROBE_RUNS = 10  # every this many browser-first runs, one run tries plain HTTP first again
NEWSARCHIVE_RENDER_FIRST = False  # set per run by the parent when the source goes browser-first
NEWSARCHIVE_RENDER_ENABLED = False  # set by the spider when a source may render and a browser was found

# Archive.
ARCHIVE_DB = str(_default_archive_db)  # [archive] db of the sources file, else relative to the current folder
ARCHIVE_BATCH_SIZE = 200  # writes per transaction
ARCHIVE_COMMIT_INTERVAL = 0.25  # seconds; pending writes are committed at least this often
ARCHIVE_RETRY_ITEMS = 200  # items whose write failed, kept to be written again as the crawl ends
ARCHIVE_BUSY_TIMEOUT = 1.0  # seconds a write waits for another process's lock; then the crawl pauses until it can write
NEWSARCHIVE_RUN_TRIGGER = "manual"
NEWSARCHIVE_RUN_ID = None  # the crawl_runs row to fill, created by the parent process; None: create one

# WARC (ISO 28500) records of every response the crawl receives (crawler.warc), pointed at from fetches.
WARC_ENABLED = True  # False: no WARC files, and fetches get no warc_file/warc_offset/warc_length
WARC_DIR = ""  # the WARC folder; "": <archive stem>-warc beside ARCHIVE_DB (data/news.db -> data/news-warc/)
WARC_MAX_SIZE = 1_000_000_000  # bytes: a WARC file that has passed this is closed and the next one begun

# Distributed crawls through Redis (crawler.distributed, docs/deployment.md): only with --distributed,
# `newsarchive worker` or `newsarchive writer`; a local crawl reads none of these.
DISTRIBUTED_REDIS_URL = None  # set per process from [distributed] redis_url or --redis-url
DISTRIBUTED_KEY_PREFIX = "newsarchive"  # set per process from [distributed] key_prefix
DISTRIBUTED_ROLE = None  # set per process: "worker" (fetch and extract) or "writer" (the archive)
DISTRIBUTED_LEASE_TIMEOUT = 15.0  # seconds without a heartbeat before a worker's requests go back to the queue
DISTRIBUTED_HEARTBEAT_INTERVAL = 1.0  # seconds between heartbeats, lease checks and stats pushes
DISTRIBUTED_WRITER_BATCH = 200  # items the writer takes from Redis, writes and commits at once
DISTRIBUTED_IDLE_CONFIRM = 2.0  # seconds the queue must stay empty with no request held before the crawl ends
DISTRIBUTED_RETRY_BASE = 0.5  # first wait (seconds) when Redis is unreachable, doubled per try
DISTRIBUTED_RETRY_MAX = 10.0  # longest wait between two tries to reach Redis
DISTRIBUTED_HOST_SLOT_TIMEOUT = 120.0  # a slot held longer is free again (a dead worker's: at once)

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.boilerplate.BoilerplatePipeline": 500,
    "pipelines.signature.SignaturePipeline": 700,  # near-duplicate signatures computed in the extraction workers
    "pipelines.archive.ArchivePipeline": 800,
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.extensions.throttle.ThrottleExtension": 0,  # AutoThrottle: 404s and redirects may lower the delay
    "crawler.extensions.skip_non_html.SkipNonHtmlExtension": 100,
    "crawler.extensions.slow_responses.SlowResponsesExtension": 110,  # NETWORK_IDLE_TIMEOUT; slow answers not retried
}

# Scrapy 2.19 starts a localhost remote-control server and a telnet console by default: neither
# belongs in an unattended crawler.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
# Log lines name an item (kind, source, URL) instead of printing it: a page item carries the page.
LOG_FORMATTER = "crawler.run.log_formatter.ItemNamingLogFormatter"
