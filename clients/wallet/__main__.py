"""`python -m clients.wallet`: rebuild the committed bundle from src/ (needs Node, npm ci)."""

from clients.wallet._build import main

raise SystemExit(main())
