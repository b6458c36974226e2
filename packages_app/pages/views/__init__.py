"""The page views, one module per page area: home and search, the package page, the
compare page, badges; track.py is the "Start tracking" both chart pages share. Thin:
access -> options/selector -> render."""
