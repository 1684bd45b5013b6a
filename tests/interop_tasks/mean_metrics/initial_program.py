def run():
    return 4.0, 0.5
