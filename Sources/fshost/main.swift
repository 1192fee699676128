print("fshost")
