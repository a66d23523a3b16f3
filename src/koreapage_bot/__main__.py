"""`python -m koreapage_bot` is the same as the `koreapage-bot` command."""

from koreapage_bot.cli import main

if __name__ == "__main__":
    main()
