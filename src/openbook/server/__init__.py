"""openbook over HTTP: a JSON API and a web page, one process, models loaded once (``openbook serve``)."""
