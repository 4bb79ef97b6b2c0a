"""HTTP upstreams: one requests-based client that every REST adapter (Kakao, KMA, MOIS, odcloud) uses."""
