from cloudimg import Cloudimg

cli = Cloudimg(
    base_url="https://img-cloud.org",
    key_id=os.environ["CLOUDIMG_KEY_ID"],
    key_secret=os.environ["CLOUDIMG_KEY_SECRET"],
)

asset = cli.upload("photo.jpg", folder="gallery", tags=["hero"])
print(asset["public_id"], asset["url"])

print(cli.url_for(asset["public_id"], w=400, h=400, c="fill", f="webp", q=80))
print(cli.signed_url(asset["public_id"], transform={"w": 200}, ttl_seconds=3600))

cli.update_asset(asset["public_id"], tags="archived,old")
cli.delete_asset(asset["public_id"])
