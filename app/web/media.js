// Attaching an image to a tweet takes three steps; the bytes never pass through GraphQL:
//
// 1. createMediaUpload(contentType, size) gives a `mediaId` and an `uploadUrl`. The URL is
//    signed for exactly that content type and size, for 15 minutes.
// 2. PUT the bytes to `uploadUrl` with that Content-Type and no Authorization header (the
//    signature is the permission). The URL is this server's /media/... with the embedded
//    default, or the S3 bucket itself on the real engines: another origin, so the bucket's
//    CORS rules must allow a PUT from this page, and the page's Content-Security-Policy
//    allows that origin (the server adds it, see app/web_client.py).
// 3. postTweet(input: {text, mediaIds: [mediaId]}) attaches it (up to 4). A media id that
//    was never uploaded, or is someone else's, is NOT_FOUND.

import { ApiError, request } from "./api.js";
import { CREATE_MEDIA_UPLOAD } from "./operations.js";

export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"];

// Uploads `file` (a File from an <input type="file">); its media id, for postTweet.
export async function uploadImage(file) {
  if (!IMAGE_TYPES.includes(file.type)) {
    throw new ApiError("Attach a JPEG, PNG, WebP or GIF image.", "BAD_USER_INPUT");
  }
  // The server checks the size too (5 MiB for a still image, 15 MiB for a GIF) and says so.
  const { createMediaUpload: upload } = await request(CREATE_MEDIA_UPLOAD, {
    contentType: file.type,
    size: file.size,
  });
  let response;
  try {
    response = await fetch(upload.uploadUrl, {
      method: "PUT",
      headers: { "Content-Type": upload.contentType },
      body: file, // a Blob: the browser sends its exact length as Content-Length
    });
  } catch {
    throw new ApiError("The image could not be uploaded.", "UPLOAD_FAILED");
  }
  if (!response.ok) {
    throw new ApiError(`The image upload was refused (HTTP ${response.status}).`, "UPLOAD_FAILED");
  }
  return upload.mediaId;
}
