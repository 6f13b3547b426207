# The two commands of the README. Everything else is in scripts/.
.PHONY: run test

run:
	@scripts/run.sh

test:
	@scripts/test.sh $(ARGS)
