print("fshost-admin")
