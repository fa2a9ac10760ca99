"""The application: the ``circlemade`` command, the demo, the live view and the dashboard
previews. It sits on top and may import every other package; nothing imports it."""
