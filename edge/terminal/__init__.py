"""The terminal: the page on the workshop's tablet (app.py: the aiohttp application; who
may use it: sign_in.py; its words: text.py; its pages: templates/)."""
