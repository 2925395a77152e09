"""``python -m proofs_check``."""

from proofs_check.runner import main

raise SystemExit(main())
