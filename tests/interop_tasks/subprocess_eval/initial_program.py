# EVOLVE-BLOCK-START
def construct():
    return [0.5, 0.5, 0.5]


# EVOLVE-BLOCK-END
